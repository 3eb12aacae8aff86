/**
 * Every route under /admin (the console's pages, actions, live streams and the JSON admin API), read
 * from the running server's route tree so a route added later is walked too: no page answers a
 * visitor, a member of staff or a password+TOTP administrator (what a relay obtains) with data, and
 * no action runs for them, without the CSRF token, from another origin, or on a stale key proof. Each
 * refusal asserts its code; afterwards the audit log holds no console action at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concretePath, parseRouteTree, type RouteEntry } from '../support/route-tree.js';
import { TestBrowser } from '../support/http-client.js';
import { csrfOf, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe('every admin route refuses whoever may not use it', { timeout: 120_000 }, () => {
  let kit: ConsoleKit;
  let routes: RouteEntry[];
  beforeAll(async () => {
    kit = await startConsoleKit();
    routes = parseRouteTree(kit.fx.gatehouse.routeTree()).filter(
      (route) => route.path.startsWith('/admin') && !route.path.startsWith('/admin/assets/') && (route.method === 'GET' || route.method === 'POST'),
    );
  });
  afterAll(async () => {
    await kit?.close();
  });

  const url = (route: RouteEntry) => `${kit.fx.portalOrigin}${concretePath(route.path)}`;
  const tokenOf = async (browser: TestBrowser) => /name="csrf-token" content="([^"]*)"/.exec((await browser.fetch(`${kit.fx.portalOrigin}/sign-in?step_up=1`)).body)![1]!;

  async function post(browser: TestBrowser, route: RouteEntry, init: { token?: string; origin?: string }) {
    const reply = await browser.fetch(url(route), {
      method: 'POST',
      headers: {
        accept: 'application/json',
        'content-type': 'application/x-www-form-urlencoded',
        origin: init.origin ?? kit.fx.portalOrigin,
        ...(init.token ? { 'x-csrf-token': init.token } : {}),
      },
      body: 'confirm=x&id=x&name=x',
    });
    let code: unknown;
    try {
      code = (JSON.parse(reply.body) as { error?: unknown }).error;
    } catch {
      code = `(not JSON: ${reply.status})`;
    }
    return { status: reply.status, code };
  }

  it('finds the routes to walk', () => {
    const paths = routes.map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain('GET /admin/sessions');
    expect(paths).toContain('POST /admin/sessions/revoke-all');
    expect(paths).toContain('POST /admin/api/incidents');
  });

  it('no page or stream shows anything to a visitor, staff or a password+TOTP administrator', async () => {
    const visitor = new TestBrowser(kit.fx.port);
    for (const route of routes.filter((r) => r.method === 'GET')) {
      const anonymous = await visitor.fetch(url(route));
      expect({ route: route.path, refused: anonymous.status === 303 || anonymous.status === 401 }).toEqual({ route: route.path, refused: true });
      for (const [who, browser, code] of [
        ['staff', kit.staff, 'admin_forbidden'],
        ['password admin', kit.passwordAdmin, 'admin_phishing_resistant_required'],
      ] as const) {
        const reply = await browser.fetch(url(route), { headers: { accept: 'application/json' } });
        expect({ route: route.path, who, status: reply.status, code: (JSON.parse(reply.body) as { error?: string }).error }).toEqual({ route: route.path, who, status: 403, code });
        expect(reply.body).not.toContain('admin@acme.test');
      }
    }
  });

  it('no action runs for staff, a password+TOTP administrator, a missing token, another origin or a stale proof', async () => {
    const staffToken = await tokenOf(kit.staff);
    const passwordToken = await tokenOf(kit.passwordAdmin);
    const adminToken = await csrfOf(kit, kit.admin);
    const posts = routes.filter((r) => r.method === 'POST');
    for (const route of posts) {
      const expected = (who: string, status: number, code: string) => ({ route: route.path, who, status, code });
      const seen = async (who: string, browser: TestBrowser, init: { token?: string; origin?: string }) => ({ route: route.path, who, ...(await post(browser, route, init)) });
      expect(await seen('staff', kit.staff, { token: staffToken })).toEqual(expected('staff', 403, 'admin_forbidden'));
      expect(await seen('password admin', kit.passwordAdmin, { token: passwordToken })).toEqual(expected('password admin', 403, 'admin_phishing_resistant_required'));
      expect(await seen('no token', kit.admin, {})).toEqual(expected('no token', 403, 'csrf_token'));
      expect(await seen('other origin', kit.admin, { token: adminToken, origin: 'http://acme-okta.localhost' })).toEqual(expected('other origin', 403, 'csrf_origin'));
    }
    kit.clock.advance(11 * 60_000); // past identity.admin_write_window_minutes (10)
    for (const route of posts) {
      expect({ route: route.path, ...(await post(kit.admin, route, { token: adminToken })) }).toEqual({ route: route.path, status: 403, code: 'admin_step_up_required' });
    }
    expect(await kit.fx.gatehouse.core.audit.list({ type: 'admin.console_action', limit: 10 })).toEqual([]);
    expect(await kit.fx.gatehouse.core.store.db.selectFrom('incidents').select('id').execute()).toEqual([]);
  });
});
