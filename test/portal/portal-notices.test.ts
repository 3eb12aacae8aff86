/**
 * What the portal tells a person around sign-out, an ended session and a blocked address, over HTTP
 * in-process; and that the new sign-out paths keep return_to to the portal and configured apps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

let fx: GatehouseFixture;
beforeAll(async () => {
  fx = await startFixture();
});
afterAll(() => fx.close());

async function csrf(): Promise<{ token: string; cookie: string }> {
  const page = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost } });
  const token = /name="csrf-token" content="([^"]+)"/.exec(page.body)![1]!;
  const set = [page.headers['set-cookie'] ?? []].flat().find((c) => c.startsWith('gatehouse_csrf='))!;
  return { token, cookie: set.split(';')[0]! };
}

describe('sign-out and ended sessions', () => {
  it('signing out lands on sign-in with a notice, and keeps a return_to only when it is allowed', async () => {
    const { token, cookie } = await csrf();
    const post = (returnTo: string) =>
      fx.gatehouse.inject({
        method: 'POST',
        url: '/sign-out',
        headers: { host: fx.portalHost, origin: fx.portalOrigin, cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ _csrf: token, return_to: returnTo }).toString(),
      });
    const kept = await post('/account');
    expect(kept.statusCode).toBe(303);
    expect(kept.headers.location).toBe('/sign-in?signed_out=1&return_to=%2Faccount');
    // An open redirect through sign-out is refused: the fallback replaces the foreign address.
    const foreign = await post('https://evil.example/phish');
    expect(foreign.headers.location).toBe('/sign-in?signed_out=1&return_to=%2Faccount');

    const page = await fx.gatehouse.inject({ method: 'GET', url: kept.headers.location!, headers: { host: fx.portalHost } });
    expect(page.body).toContain('You are signed out.');
  });

  it('the confirming sign-out page sends a visitor who is not signed in to sign-in instead', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/sign-out?return_to=https%3A%2F%2Fevil.example%2F', headers: { host: fx.portalHost } });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/sign-in?return_to=%2Faccount');
  });

  it('a session cookie that no longer opens a session (revoked, expired) gets "your session has ended"', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost, cookie: 'gatehouse_session=revoked-or-made-up' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('session has ended');
    const fresh = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost } });
    expect(fresh.body).not.toContain('session has ended');
  });

  it('a notice is chosen from fixed texts: nothing from the query is echoed', async () => {
    const res = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in?signed_out=<b>x</b>&notice=%3Cscript%3E', headers: { host: fx.portalHost } });
    expect(res.body).not.toContain('<b>x</b>');
    expect(res.body).not.toContain('You are signed out.');
  });
});

describe('a blocked address at the portal', () => {
  it('gets a whole page in the portal look (inline style under the CSP), and JSON on the API', async () => {
    await fx.gatehouse.access.ipBlocks.block('203.0.113.7/32', { reason: 'test', actor: 'test' });
    await expect
      .poll(async () => (await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost }, remoteAddress: '203.0.113.7' })).statusCode)
      .toBe(403);
    const page = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost, accept: 'text/html' }, remoteAddress: '203.0.113.7' });
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("style-src 'self' 'sha256-");
    expect(page.body).toContain('Your network is blocked');
    expect(page.body).toContain('<style>');
    expect(page.body).not.toContain('203.0.113.7'); // the address is not echoed
    const api = await fx.gatehouse.inject({ method: 'POST', url: '/api/sign-in/options', headers: { host: fx.portalHost, 'content-type': 'application/json' }, payload: '{}', remoteAddress: '203.0.113.7' });
    expect(api.statusCode).toBe(403);
    expect(api.json()).toMatchObject({ message: 'Access from your network address is blocked.' });
    const other = await fx.gatehouse.inject({ method: 'GET', url: '/sign-in', headers: { host: fx.portalHost }, remoteAddress: '198.51.100.1' });
    expect(other.statusCode).toBe(200);
  });
});
