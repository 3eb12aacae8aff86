// Gatehouse admin console: the console's only script. Forms work without it (plain posts answered with
// a page); with it, an action is sent with fetch, a stale key proof is fixed in place by a touch of
// the key (step-up) and the action retried once, and typed confirmations are checked before sending.
// The server checks everything again: nothing here is a security boundary.
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
  function hide(id) {
    var el = document.getElementById(id);
    if (el) el.classList.add('hidden');
  }

  // POSTs to this origin and reads the JSON answer; a refusal becomes an error carrying its code.
  async function post(url, contentType, body) {
    var res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': contentType, accept: 'application/json', 'x-csrf-token': csrf },
      body: body,
    });
    var data = {};
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (!res.ok) {
      var error = new Error(data.message || 'Something went wrong. Try again.');
      error.code = data.code || data.error;
      throw error;
    }
    return data;
  }

  function postJson(url, body) {
    return post(url, 'application/json', JSON.stringify(body));
  }

  function submitForm(form) {
    return post(form.action, 'application/x-www-form-urlencoded', new URLSearchParams(new FormData(form)).toString());
  }

  // A key proof older than the admin window: touch the key here, then the action is sent again.
  async function stepUp() {
    show('console-status', 'Confirm it is you: touch your security key or passkey.');
    var start = await postJson('/api/sign-in/options', { stepUp: true });
    var response = await lib.startAuthentication({ optionsJSON: start.options });
    await postJson('/api/sign-in/verify', { challengeId: start.challengeId, response: response, stepUp: true, returnTo: window.location.pathname });
  }

  function showResult(data) {
    hide('console-error');
    if (data.secret) {
      var box = document.getElementById('console-secret');
      if (box) {
        box.querySelector('.secret-label').textContent = data.secret.label;
        box.querySelector('.secret-value').textContent = data.secret.value;
        box.classList.remove('hidden');
      }
      show('console-status', data.message);
      return;
    }
    show('console-status', data.message);
    if (data.redirect) {
      window.setTimeout(function () { window.location.assign(data.redirect); }, 600);
    }
  }

  document.addEventListener('submit', async function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute('data-console-action')) return;
    event.preventDefault();
    var button = form.querySelector('button[type="submit"]');
    if (button) button.disabled = true;
    hide('console-error');
    try {
      var data;
      try {
        data = await submitForm(form);
      } catch (err) {
        if (!err || err.code !== 'admin_step_up_required') throw err;
        await stepUp();
        data = await submitForm(form);
      }
      showResult(data);
    } catch (err) {
      var text = (err && err.name === 'NotAllowedError') ? 'The key did not answer. Try again and touch it when it blinks.' : (err && err.message) || 'Something went wrong. Try again.';
      show('console-error', text);
    } finally {
      if (button) button.disabled = false;
    }
  });

  // Live regions fed by server-sent events: <ol data-live-source="/admin/…/events"> receives items
  // {text, at}; each becomes a list item written with textContent (never HTML).
  document.querySelectorAll('[data-live-source]').forEach(function (list) {
    var source = new EventSource(list.getAttribute('data-live-source'));
    source.addEventListener('message', function (event) {
      var item;
      try { item = JSON.parse(event.data); } catch (e) { return; }
      var li = document.createElement('li');
      var time = document.createElement('time');
      time.textContent = new Date(item.at).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
      li.appendChild(time);
      li.appendChild(document.createTextNode(' ' + item.text));
      list.appendChild(li);
      list.dispatchEvent(new CustomEvent('console:live', { detail: item }));
    });
  });

  // Hook for pages with charts: window.GatehouseConsole.charts registers renderers by element class.
  window.GatehouseConsole = { show: show, hide: hide, postJson: postJson };
})();
