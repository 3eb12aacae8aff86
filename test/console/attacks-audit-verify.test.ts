/**
 * Audit chain verification as a load lever (the attacker's view, written before the tests): the
 * verification walks the whole log (200,000 events at scale) and is a GET, so a stolen read-only
 * admin cookie, a second admin, or a script reloading it in a loop could keep the store busy. The
 * once-a-minute bound must hold per instance whoever asks (another admin, another session, many
 * requests at once), and the page must never start a walk for a non-admin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

describe('console attacks: audit verification as a load lever', { timeout: 60_000 }, () => {
  let kit: ConsoleKit;
  let second: TestBrowser;
  beforeAll(async () => {
    kit = await startConsoleKit();
    second = new TestBrowser(kit.fx.port);
    await enrolThroughPortal(kit.fx, second, 'admin2@acme.test', ['admins']);
  });
  afterAll(async () => {
    await kit?.close();
  });

  const verifiedAt = (body: string) => /(?:Verified just now|Last verified) at <time datetime="([^"]+)"/.exec(body)?.[1];

  it('shares one walk a minute between admins and concurrent requests', async () => {
    const first = await page(kit, kit.admin, '/admin/audit/verify');
    expect(first.body).toContain('Verified just now');
    const at = verifiedAt(first.body);
    // A second admin, and a burst of requests from both: the same result, no new walk.
    const burst = await Promise.all([...Array.from({ length: 5 }, () => page(kit, second, '/admin/audit/verify')), ...Array.from({ length: 5 }, () => page(kit, kit.admin, '/admin/audit/verify'))]);
    for (const reply of burst) {
      expect({ status: reply.status, last: reply.body.includes('Last verified'), at: verifiedAt(reply.body) }).toEqual({ status: 200, last: true, at });
    }
  });

  it('starts no walk for staff or a password+TOTP administrator', async () => {
    kit.clock.advance(61_000);
    for (const browser of [kit.staff, kit.passwordAdmin]) {
      const reply = await page(kit, browser, '/admin/audit/verify');
      expect(reply.status).toBe(403);
    }
    // The next admin request is the one that walks: nothing ran for the refused ones.
    const next = await page(kit, kit.admin, '/admin/audit/verify');
    expect(next.body).toContain('Verified just now');
  });

  // Not closed yet (a known limit, listed in the closing note):
  // bounds verification across instances: the once-a-minute limit lives in each process (a closure in
  // registerAuditPage), so N instances behind a load balancer walk the log N times a minute for one looping
  // client; a shared lease (a row in the store with the last run time, taken with a conditional update) would
  // make the bound global
});
