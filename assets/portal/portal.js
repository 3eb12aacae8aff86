// Gatehouse portal: the only script on the pages, and only for the WebAuthn browser calls.
// The server decides everything; this file moves options and responses between it and the key.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  function show(id, text) {
    var el = document.getElementById(id);
    if (!el) return;
    el.textContent = text;
    el.classList.remove('hidden');
  }

  async function post(url, body) {
    var res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify(body),
    });
    var data = {};
    try { data = await res.json(); } catch (e) { /* non-JSON error page */ }
    if (!res.ok) {
      var error = new Error(data.message || 'Something went wrong. Try again.');
      error.code = data.code;
      throw error;
    }
    return data;
  }

  // A sign-in refused with NotAllowedError is, as often as not, a person with no key for this site
  // yet (the browser offers nothing to touch): the WebAuthn API cannot tell them apart from a cancel
  // (it must not reveal which credentials exist), so the text says both, the missing key first.
  var ceremony = 'get';

  function friendly(err) {
    if (err && err.name === 'NotAllowedError' && ceremony === 'get') {
      return 'No key answered. If you have not set up a security key or passkey for this site yet, use the set-up link your IT team sent you. If you have one, try again and touch it when it blinks.';
    }
    if (err && err.name === 'NotAllowedError') return 'The request was cancelled or timed out. Try again and touch your key when it blinks.';
    if (err && err.name === 'InvalidStateError') return 'This security key is already registered.';
    if (err && err.name === 'SecurityError') return 'This page is not allowed to use your security key. Check the address bar.';
    return (err && err.message) || 'Something went wrong. Try again.';
  }

  function wire(buttonId, run) {
    var button = document.getElementById(buttonId);
    if (!button) return;
    button.addEventListener('click', async function (event) {
      event.preventDefault();
      button.disabled = true;
      document.getElementById('error') && document.getElementById('error').classList.add('hidden');
      ceremony = 'get';
      try {
        await run(button);
      } catch (err) {
        show('error', friendly(err));
        button.disabled = false;
      }
    });
  }

  var root = document.body.dataset;

  wire('sign-in-key', async function () {
    var emailField = document.getElementById('email');
    var email = emailField && emailField.value.trim() ? emailField.value.trim() : undefined;
    var start = await post('/api/sign-in/options', { email: email, stepUp: root.stepUp === '1' });
    var response = await lib.startAuthentication({ optionsJSON: start.options });
    var done = await post('/api/sign-in/verify', { challengeId: start.challengeId, response: response, returnTo: root.returnTo || '', stepUp: root.stepUp === '1' });
    window.location.assign(done.redirect);
  });

  // A new key is usable only after it signs in once against this origin: register, then confirm.
  async function registerAndConfirm(paths, extra) {
    var name = (document.getElementById('key-name') || {}).value || 'Security key';
    var start = await post(paths.options, extra);
    ceremony = 'create';
    var created = await lib.startRegistration({ optionsJSON: start.options });
    var pending = await post(paths.verify, Object.assign({ challengeId: start.challengeId, response: created, name: name }, extra));
    ceremony = 'confirm';
    show('status', 'Key registered. Touch it once more to confirm it works here.');
    var proof = await lib.startAuthentication({ optionsJSON: pending.options });
    return post(paths.activate, Object.assign({ activationId: pending.activationId, response: proof }, extra));
  }

  // Key changes need a key proof from the last few minutes: on a stale one, touch an existing key, retry.
  async function withFreshKeyProof(change) {
    try {
      return await change();
    } catch (err) {
      if (!err || err.code !== 'step_up_required') throw err;
      show('status', 'First confirm it is you: touch one of your existing keys.');
      var start = await post('/api/sign-in/options', { stepUp: true });
      var response = await lib.startAuthentication({ optionsJSON: start.options });
      await post('/api/sign-in/verify', { challengeId: start.challengeId, response: response, stepUp: true, returnTo: '/account' });
      return change();
    }
  }

  wire('enroll-key', async function () {
    var done = await registerAndConfirm({ options: '/api/enroll/options', verify: '/api/enroll/verify', activate: '/api/enroll/activate' }, { token: root.invite });
    window.location.assign(done.redirect);
  });

  wire('add-key', async function () {
    var done = await withFreshKeyProof(function () {
      return registerAndConfirm({ options: '/api/account/keys/options', verify: '/api/account/keys/verify', activate: '/api/account/keys/activate' }, {});
    });
    window.location.assign(done.redirect);
  });
})();
