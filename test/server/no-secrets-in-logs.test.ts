/**
 * No bearer secret in any log line. Everything a person or a resolver hands Gatehouse that would open a
 * door if copied from a log — the session id, an invite token, a personal DoH token, a TOTP secret and
 * code, a password — goes through the real flows (enrollment from an invite, sign-in with a key, a
 * password+TOTP sign-in, DoH through a personal URL, failures of each), and every captured log line is
 * scanned for each of them.
 */
import dnsPacket from 'dns-packet';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyFactors } from '../../src/identity/index.js';
import { redactPath } from '../../src/server/create-logger.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal, postJson } from '../support/portal-sign-in.js';

describe('no bearer secret reaches a log', () => {
  let fx: GatehouseFixture;
  let upstream: UpstreamFixture;
  const secrets = new Map<string, string>();

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    fx = await startFixture({
      legacy: { password: true, totp: true },
      extraYaml: `dns:
  enabled: true
  listen: { address: 127.0.0.1, port: ${await freePort()}, udp: false, tcp: false }
  upstreams: ["127.0.0.1:${upstream.port}"]
`,
    });
  });
  afterAll(async () => {
    await fx?.close();
    await upstream?.close();
  });

  it('redacts token-like path segments and drops the query string', () => {
    const token = 'A'.repeat(43);
    expect(redactPath(`/dns-query/${token}`)).toBe('/dns-query/[redacted]');
    expect(redactPath(`/dns-query/${token}/x?dns=abc`)).toBe('/dns-query/[redacted]/x');
    expect(redactPath('/enroll?token=secret')).toBe('/enroll');
    expect(redactPath('/account/keys/rename')).toBe('/account/keys/rename');
  });

  it('enrollment, sign-in, password+TOTP, DoH and their failures leave none of their secrets in the logs', async () => {
    const { identity } = fx.gatehouse.core;
    // Enrollment from an invite (its token travels in the link and the JSON body), and the session.
    const browser = new TestBrowser(fx.port);
    const invite = await identity.invite({ email: 'leak@acme.test', actor: 'test' });
    secrets.set('invite token', new URL(invite.url).searchParams.get('token')!);
    await browser.fetch(invite.url.replace(fx.portalOrigin, `http://${fx.portalHost}:${fx.port}`));
    await enrolThroughPortal(fx, browser, 'leak2@acme.test');
    secrets.set('session id', browser.cookies(fx.portalHost).get('gatehouse_session')!);
    // A used invite, then a wrong one: the refusals are logged, their tokens must not be.
    await postJson(browser, fx, '/api/enroll/options', { token: secrets.get('invite token') });
    await postJson(browser, fx, '/api/enroll/options', { token: 'B'.repeat(43) });

    // Password + TOTP, right and wrong.
    const user = await identity.users.add({ email: 'pw@acme.test' });
    const password = 'correct horse battery staple';
    await identity.legacy.setPassword(user.id, password);
    const totpSecret = await identity.legacy.enrollTotp(user.id);
    secrets.set('password', password);
    secrets.set('TOTP secret', totpSecret);
    const code = await LegacyFactors.codeFor(totpSecret, Date.now());
    secrets.set('TOTP code', code);
    const form = new TestBrowser(fx.port);
    const page = await form.fetch(`${fx.portalOrigin}/sign-in`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
    for (const [pw, otp] of [[password, code], ['wrong password', '000000']] as const) {
      await form.fetch(`${fx.portalOrigin}/sign-in/password`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: fx.portalOrigin },
        body: new URLSearchParams({ _csrf: csrf, email: 'pw@acme.test', password: pw, code: otp, return_to: '/account' }).toString(),
      });
    }

    // DoH through a personal URL, and through a wrong one.
    const doh = await fx.gatehouse.dns.dohTokens.issue(user.id);
    secrets.set('DoH token', doh);
    const query = dnsPacket.encode({ type: 'query', id: 1, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'example.com' }] });
    for (const token of [doh, 'C'.repeat(43)]) {
      const res = await request(`http://127.0.0.1:${fx.port}/dns-query/${token}`, { method: 'POST', headers: { host: fx.portalHost, 'content-type': 'application/dns-message' }, body: query });
      await res.body.dump();
    }

    const logged = fx.logs.join('');
    expect(logged.length).toBeGreaterThan(500); // the flows were logged at all
    expect(logged).toContain('/dns-query/[redacted]');
    for (const [what, secret] of secrets) expect(logged.includes(secret), `${what} found in the logs`).toBe(false);
  });
});
