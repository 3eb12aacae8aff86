/**
 * The console attacked from outside its own pages (the attacker's view, written before the tests):
 * - A hostile site: makes the admin's browser POST to an action with content types a form can send
 *   without a preflight (text/plain, multipart), with `Origin: null` (a sandboxed frame, a redirect),
 *   with no Origin and only a Referer, with the token where it can put one (the query string), or
 *   with a second `_csrf` beside a guessed one; or turns the action into a GET/HEAD (an <img>, a
 *   link) or asks for another method with an override header. None of it may run an action.
 * - A leaked link or a hostile Referer: the refusal's redirect to sign-in (and the step-up's return)
 *   must stay on the portal, whatever the Referer or the path says.
 * - A framing page or a shared cache: every console answer (pages, JSON, refusals, the STIX file)
 *   carries frame-ancestors 'none' and no-store; the STIX file name is never built from the title.
 * - Form-body pollution (`user_id=a&user_id=b`, `user_id[]=`): refused, never the first or last value.
 * - Query-string pollution and oversized parameters (`?q=a&q=b`, 8 KB values): a 400 naming the
 *   parameter or the page, never a 500.
 * - A hostile header on a real action: a forged X-Forwarded-For from a peer that is no trusted proxy
 *   must not become the address the audit log records for the admin.
 * Each refusal asserts its code, and no `admin.console_action` event is written by any of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../support/http-client.js';
import { signInThroughPortal } from '../support/portal-sign-in.js';
import { csrfOf, page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe('console attacks: CSRF variants, redirects, headers, parameter pollution', { timeout: 120_000 }, () => {
  let kit: ConsoleKit;
  let staffId: string;
  let token: string;
  beforeAll(async () => {
    kit = await startConsoleKit({ extraYaml: 'dns:\n  age:\n    enabled: false\n' });
    staffId = (await kit.fx.gatehouse.core.identity.users.require('staff@acme.test')).id;
    token = await csrfOf(kit, kit.admin);
  });
  afterAll(async () => {
    await kit?.close();
  });

  const actions = async () => kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 50 });
  const revokeUser = `/admin/sessions/revoke-user`;

  async function post(path: string, init: { headers?: Record<string, string>; body?: string; method?: string }) {
    const reply = await kit.admin.fetch(`${kit.fx.portalOrigin}${path}`, { method: init.method ?? 'POST', headers: { accept: 'application/json', ...init.headers }, ...(init.body !== undefined ? { body: init.body } : {}) });
    let code: unknown;
    try {
      code = (JSON.parse(reply.body) as { error?: unknown }).error;
    } catch {
      code = undefined;
    }
    return { status: reply.status, code, reply };
  }

  it('refuses cross-site form encodings: text/plain and multipart bodies carrying the token', async () => {
    const fields = `_csrf=${token}&user_id=${staffId}`;
    const plain = await post(revokeUser, { headers: { 'content-type': 'text/plain', origin: kit.fx.portalOrigin }, body: fields });
    expect({ status: plain.status, code: plain.code }).toEqual({ status: 403, code: 'csrf_token' });
    const boundary = 'x1234';
    const multipart = await post(revokeUser, {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, origin: kit.fx.portalOrigin },
      body: `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${token}\r\n--${boundary}\r\nContent-Disposition: form-data; name="user_id"\r\n\r\n${staffId}\r\n--${boundary}--\r\n`,
    });
    expect(multipart.status).toBeGreaterThanOrEqual(400);
    expect(multipart.status).toBeLessThan(500);
    expect(await actions()).toEqual([]);
  });

  it('never takes the token from the query string', async () => {
    const reply = await post(`${revokeUser}?_csrf=${token}`, { headers: { 'content-type': 'application/x-www-form-urlencoded', origin: kit.fx.portalOrigin }, body: `user_id=${staffId}` });
    expect({ status: reply.status, code: reply.code }).toEqual({ status: 403, code: 'csrf_token' });
    expect(await actions()).toEqual([]);
  });

  it('refuses Origin: null (sandboxed frame, cross-site redirect) unless a same-origin Referer vouches, and a Referer-only request from elsewhere', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token };
    const body = `user_id=${staffId}`;
    const nullOrigin = await post(revokeUser, { headers: { ...form, origin: 'null' }, body });
    expect({ status: nullOrigin.status, code: nullOrigin.code }).toEqual({ status: 403, code: 'csrf_origin' });
    const nullWithHostileReferer = await post(revokeUser, { headers: { ...form, origin: 'null', referer: 'http://acme-okta.localhost/admin/sessions' }, body });
    expect({ status: nullWithHostileReferer.status, code: nullWithHostileReferer.code }).toEqual({ status: 403, code: 'csrf_origin' });
    const refererOnly = await post(revokeUser, { headers: { ...form, referer: 'http://sso.acme.localhost.evil.test/admin' }, body });
    expect({ status: refererOnly.status, code: refererOnly.code }).toEqual({ status: 403, code: 'csrf_origin' });
    const badReferer = await post(revokeUser, { headers: { ...form, referer: 'not a url' }, body });
    expect({ status: badReferer.status, code: badReferer.code }).toEqual({ status: 403, code: 'csrf_origin' });
    expect(await actions()).toEqual([]);
  });

  it('refuses a same-site app host (its cookies are sent: SameSite=Lax), another scheme or port, and a suffix of the portal', async () => {
    const portal = new URL(kit.fx.portalOrigin);
    const other = portal.protocol === 'http:' ? 'https:' : 'http:';
    const origins = [
      `${portal.protocol}//wiki.${portal.hostname.split('.').slice(1).join('.')}${portal.port ? `:${portal.port}` : ''}`,
      `${other}//${portal.host}`,
      `${portal.protocol}//${portal.hostname}:1`,
      `${portal.protocol}//${portal.hostname}.evil.test${portal.port ? `:${portal.port}` : ''}`,
      `${kit.fx.portalOrigin}/`,
      kit.fx.portalOrigin.toUpperCase(),
    ];
    for (const origin of origins) {
      const reply = await post(revokeUser, { headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': token, origin }, body: `user_id=${staffId}` });
      expect({ origin, status: reply.status, code: reply.code }).toEqual({ origin, status: 403, code: 'csrf_origin' });
    }
    expect(await actions()).toEqual([]);
  });

  it('refuses a second _csrf beside the real one, an array, and a header that differs from the cookie', async () => {
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin: kit.fx.portalOrigin };
    // One character off: the last one changed to another (replacing it by a fixed letter left the token
    // valid whenever it already ended with that letter, one run in 64).
    const offByOne = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const body of [`_csrf=${token}&_csrf=guess&user_id=${staffId}`, `_csrf[]=${token}&user_id=${staffId}`, `_csrf=${offByOne}&user_id=${staffId}`]) {
      const reply = await post(revokeUser, { headers, body });
      expect({ body: body.slice(0, 20), status: reply.status, code: reply.code }).toEqual({ body: body.slice(0, 20), status: 403, code: 'csrf_token' });
    }
    const twoHeaders = await post(revokeUser, { headers: { ...headers, 'x-csrf-token': `${token}, ${token}` }, body: `user_id=${staffId}` });
    expect({ status: twoHeaders.status, code: twoHeaders.code }).toEqual({ status: 403, code: 'csrf_token' });
    expect(await actions()).toEqual([]);
  });

  it('runs no action for GET, HEAD or a method-override header', async () => {
    for (const method of ['GET', 'HEAD']) {
      const reply = await post(`${revokeUser}?user_id=${staffId}&_csrf=${token}`, { method, headers: { origin: kit.fx.portalOrigin, 'x-csrf-token': token } });
      expect({ method, status: reply.status }).toEqual({ method, status: 404 });
    }
    const override = await post(`/admin/sessions?user_id=${staffId}`, { method: 'GET', headers: { 'x-http-method-override': 'POST', 'x-method-override': 'POST', origin: kit.fx.portalOrigin, 'x-csrf-token': token } });
    expect(override.status).toBe(200);
    expect(await actions()).toEqual([]);
    // The staff member's sessions all survived every attempt above.
    const staffPage = await page(kit, kit.staff, '/account');
    expect(staffPage.status).toBe(200);
  });

  it('keeps every sign-in redirect on the portal, whatever the path or the Referer says', async () => {
    const visitor = new TestBrowser(kit.fx.port);
    for (const path of ['/admin//evil.example/x', '/admin/%2F%2Fevil.example', '/admin/..%2F..%2F%2Fevil.example', '/admin/users?x=https://evil.example']) {
      const anonymous = await visitor.fetch(`${kit.fx.portalOrigin}${path}`);
      if (anonymous.status !== 303) {
        // Refused before the gate (a path that is no route): no redirect at all is as safe.
        expect({ path, status: anonymous.status }).toEqual({ path, status: 404 });
        continue;
      }
      const location = new URL(anonymous.location!);
      expect(location.origin).toBe(kit.fx.portalOrigin);
      expect(location.pathname).toBe('/sign-in');
      const back = location.searchParams.get('return_to')!;
      expect(back.startsWith('/admin')).toBe(true);
      expect(/^\/[/\\]/.test(back)).toBe(false);
    }
    // A stale key proof on a plain form post: the step-up returns to a console path, never the Referer's origin.
    kit.clock.advance(11 * 60_000);
    for (const referer of ['http://evil.example/admin/users', 'http://evil.example//evil.example', 'javascript:alert(1)//admin', 'http://evil.example/admin/..//evil.example']) {
      const reply = await kit.admin.fetch(`${kit.fx.portalOrigin}${revokeUser}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: kit.fx.portalOrigin, referer },
        body: `_csrf=${token}&user_id=${staffId}`,
      });
      expect({ referer, status: reply.status }).toEqual({ referer, status: 303 });
      const location = new URL(reply.location!);
      expect(location.origin).toBe(kit.fx.portalOrigin);
      const back = location.searchParams.get('return_to')!;
      expect(/^\/admin(\/[a-z0-9/_-]*)?$/i.test(back) && !back.startsWith('//')).toBe(true);
    }
    expect(await actions()).toEqual([]);
  });

  it('sends every console answer unframeable and uncached: pages, JSON, refusals, 404s and the STIX file', async () => {
    const result = await kit.fx.gatehouse.incidents.declare({ title: 'evil"; filename=x.html <script>alert(1)</script>', domains: [] }, { actor: 'test' });
    if (!('incident' in result)) throw new Error('not declared');
    const id = result.incident.id;
    const paths = [
      '/admin',
      '/admin/overview.json',
      '/admin/sessions',
      '/admin/users',
      '/admin/apps',
      '/admin/dns',
      '/admin/incidents',
      `/admin/incidents/${id}`,
      `/admin/incidents/${id}/stix`,
      '/admin/audit',
      '/admin/tokens',
      '/admin/reports',
      '/admin/no-such-page',
      '/admin/incidents/not-an-id',
      '/admin/users?filter=bogus',
    ];
    for (const path of paths) {
      for (const accept of ['text/html', 'application/json']) {
        const reply = await kit.admin.fetch(`${kit.fx.portalOrigin}${path}`, { headers: { accept } });
        const headers = { path, accept, status: reply.status < 500, cache: reply.headers['cache-control'], frame: String(reply.headers['content-security-policy']).includes("frame-ancestors 'none'"), xfo: reply.headers['x-frame-options'], nosniff: reply.headers['x-content-type-options'] };
        expect(headers).toEqual({ path, accept, status: true, cache: 'no-store', frame: true, xfo: 'DENY', nosniff: 'nosniff' });
      }
    }
    const stix = await kit.admin.fetch(`${kit.fx.portalOrigin}/admin/incidents/${id}/stix`);
    expect(stix.headers['content-disposition']).toBe(`attachment; filename="${id}.stix.json"`);
    expect(String(stix.headers['content-type'])).toContain('application/stix+json');
    const staff = await kit.staff.fetch(`${kit.fx.portalOrigin}/admin/incidents/${id}/stix`, { headers: { accept: 'application/json' } });
    expect({ status: staff.status, cache: staff.headers['cache-control'] }).toEqual({ status: 403, cache: 'no-store' });
    expect(staff.body).not.toContain(id);
  });

  it('answers polluted and oversized query parameters with a 4xx, never a 500', async () => {
    const long = 'a'.repeat(8000);
    const cases = [
      '/admin/sessions?q=a&q=b',
      `/admin/sessions?q=${long}`,
      '/admin/users?q=a&q=b',
      '/admin/users?filter=all&filter=disabled',
      `/admin/users?after=${long}`,
      '/admin/tokens?q=a&q=b',
      '/admin/dns?name=a&name=b',
      `/admin/dns?name=${long}`,
      '/admin/dns?limit=1e3',
      '/admin/dns?before=1.2&before=3.4',
      '/admin/audit?type=a&type=b',
      `/admin/audit?user=${long}`,
      '/admin/apps/test?app=a&app=b&user=x&user=y',
      `/admin/apps/test?path=/${long}`,
      '/admin/reports?status=open&status=closed',
      '/admin/incidents?status=open&status=closed',
      '/admin?range=24h&range=7d',
      '/admin/overview.json?range[]=24h',
      '/admin/users/%00',
      '/admin/reports/%E0%A4%A',
      `/admin/reports/${long}`,
    ];
    for (const path of cases) {
      const reply = await kit.admin.fetch(`${kit.fx.portalOrigin}${path}`);
      expect({ path: path.slice(0, 80), ok: reply.status < 500 }).toEqual({ path: path.slice(0, 80), ok: true });
    }
  });

  it('records the peer address, not a forged X-Forwarded-For, for an action that runs', async () => {
    await signInThroughPortal(kit.fx, kit.admin, kit.adminKey, { stepUp: true });
    const fresh = await csrfOf(kit, kit.admin);
    const reply = await post(revokeUser, {
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: kit.fx.portalOrigin, 'x-csrf-token': fresh, 'x-forwarded-for': '198.51.100.66', forwarded: 'for=198.51.100.66', 'x-real-ip': '198.51.100.66' },
      body: `user_id=${staffId}`,
    });
    expect(reply.status).toBe(200);
    const [event] = await actions();
    expect(event).toMatchObject({ type: 'admin.console_action', detail: { action: 'session.revoke_user' } });
    expect(event).toMatchObject({ ip: '127.0.0.1' });
    expect(JSON.stringify(event)).not.toContain('198.51.100.66');
  });

  it('refuses a repeated or bracketed form field with a 400 naming it, acting on neither value', async () => {
    const fresh = await csrfOf(kit, kit.admin);
    const before = (await actions()).length;
    const headers = { 'content-type': 'application/x-www-form-urlencoded', origin: kit.fx.portalOrigin, 'x-csrf-token': fresh };
    for (const body of [`user_id=${staffId}&user_id=${staffId}`, `user_id[]=${staffId}`, `user_id[0]=${staffId}`]) {
      const reply = await post(revokeUser, { headers, body });
      expect({ body, status: reply.status, code: reply.code }).toEqual({ body, status: 400, code: 'invalid_input' });
      expect(JSON.parse(reply.reply.body)).toMatchObject({ message: 'The form field "user_id" is missing or too long.' });
    }
    expect((await actions()).length).toBe(before);
  });
});
