/**
 * The console's audit page: filters that refuse what they cannot mean (400, named), keyset pages
 * newest first with no overlap and no gap, event detail escaped, the head as `gatehouse audit head`
 * prints it, and chain verification that finds the first changed event, at most once a minute.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditHead } from '../../src/audit/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase } from '../support/gatehouse-fixture.js';
import { page, startConsoleKit, type ConsoleKit } from './console-test-kit.js';

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_console_audit') },
];

const seqsOf = (body: string) => [...body.matchAll(/<tr>\s*<td><code>(\d+)<\/code><\/td>/g)].map((m) => Number(m[1]));
const olderLink = (body: string) => /<a href="(\/admin\/audit\?[^"]*)">Older events<\/a>/.exec(body)?.[1]?.replace(/&amp;/g, '&');

for (const engine of engines) {
  describe.runIf(engine.available)(`admin console: audit (${engine.name})`, () => {
    let kit: ConsoleKit;
    beforeAll(async () => {
      const databaseUrl = await engine.url();
      kit = await startConsoleKit(databaseUrl ? { databaseUrl } : {});
    });
    afterAll(async () => {
      await kit?.close();
    });

    it('pages newest first by seq cursor, with no overlap and no gap', async () => {
      const audit = kit.fx.gatehouse.core.audit;
      for (let i = 0; i < 120; i++) {
        await audit.record({ type: 'user.changed', outcome: 'info', actor: 'test', detail: { n: i } });
        if (i % 40 === 0) kit.clock.advance(1000);
      }
      const seen: number[] = [];
      let path: string | undefined = '/admin/audit?type=user.changed';
      let pages = 0;
      while (path) {
        const reply = await page(kit, kit.admin, path);
        expect(reply.status).toBe(200);
        const seqs = seqsOf(reply.body);
        expect(seqs.length).toBeLessThanOrEqual(50);
        seen.push(...seqs);
        path = olderLink(reply.body);
        if (!path) expect(reply.body).toContain('No older event.');
        else expect(path).toMatch(/before=\d+/);
        pages++;
      }
      expect(pages).toBe(3);
      expect(seen).toHaveLength(120);
      expect(new Set(seen).size).toBe(120);
      expect(seen).toEqual([...seen].sort((a, b) => b - a));
    });

    it('filters by outcome, user, address, code and time, and renders detail escaped', async () => {
      const core = kit.fx.gatehouse.core;
      const staff = await core.identity.users.require('staff@acme.test');
      const at = kit.clock.now();
      await core.audit.record({ type: 'access.denied', outcome: 'failure', code: 'no_policy_matched', userId: staff.id, ip: '203.0.113.7', detail: { app: 'wiki', path: '/<script>alert(1)</script>' } });
      const byAll = await page(kit, kit.admin, `/admin/audit?type=access.denied&outcome=failure&user=STAFF%40acme.test&ip=203.0.113.7&code=no_policy_matched&since=${encodeURIComponent(new Date(at - 60_000).toISOString().slice(0, 16))}`);
      expect(byAll.status).toBe(200);
      expect(seqsOf(byAll.body)).toHaveLength(1);
      expect(byAll.body).toContain('staff@acme.test');
      expect(byAll.body).toContain('&lt;script&gt;alert(1)');
      expect(byAll.body).not.toContain('<script>alert');
      const before = await page(kit, kit.admin, `/admin/audit?type=access.denied&until=${encodeURIComponent(new Date(at - 60_000).toISOString().slice(0, 16))}`);
      expect(seqsOf(before.body)).toHaveLength(0);
      expect(before.body).toContain('No event matches.');
      const success = await page(kit, kit.admin, '/admin/audit?type=access.denied&outcome=success');
      expect(seqsOf(success.body)).toHaveLength(0);
    });

    it('refuses filters it cannot mean, naming them, with a 400 page', async () => {
      const cases: [string, string][] = [
        ['type=sign_inn', '&quot;sign_inn&quot; is not an audit event type'],
        ['outcome=maybe', '&quot;maybe&quot; is not an outcome'],
        ['user=ghost%40acme.test', 'There is no user &quot;ghost@acme.test&quot;'],
        ['ip=999.1.1.1', '&quot;999.1.1.1&quot; is not an IPv4 or IPv6 address'],
        ['since=last+week', '&quot;last week&quot; is not a time'],
        ['until=2026-13-01', '&quot;2026-13-01&quot; is not a time'],
        ['before=-1', '&quot;-1&quot; is not an event number'],
        ['code=%3Cscript%3Ealert(1)%3C%2Fscript%3E', '&quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; is not an error code'],
        [`user=${'a'.repeat(400)}`, 'The filter &quot;user&quot; is not valid'],
        ['type=a&type=b', 'The filter &quot;type&quot; is not valid'],
      ];
      for (const [query, message] of cases) {
        const reply = await page(kit, kit.admin, `/admin/audit?${query}`);
        expect(reply.status, query).toBe(400);
        expect(reply.body, query).toContain(message);
        expect(reply.body).not.toContain('<script>alert');
      }
    });

    it('shows the head as `gatehouse audit head` prints it', async () => {
      const reply = await page(kit, kit.admin, '/admin/audit');
      const head = await readAuditHead(kit.fx.gatehouse.core.store.db);
      // The page's own read is audited only on refusal, so the head read after it is the one it showed.
      expect(reply.body).toContain(`<code class="anchor">${head.seq}:${head.hash}</code>`);
      if (head.checkpointKey) expect(reply.body).toContain(head.checkpointKey);
      else expect(reply.body).toContain('none yet');
    });

    it('refuses staff and a password+TOTP administrator, the verification included', async () => {
      for (const [browser, code] of [
        [kit.staff, 'admin_forbidden'],
        [kit.passwordAdmin, 'admin_phishing_resistant_required'],
      ] as const) {
        for (const path of ['/admin/audit', '/admin/audit/verify']) {
          const reply = await page(kit, browser, path);
          expect(reply.status).toBe(403);
          expect(reply.body).not.toContain('user.changed');
          expect(reply.body).not.toContain('verified');
        }
        const denied = await kit.fx.gatehouse.core.audit.list({ type: 'admin.denied', limit: 50 });
        expect(denied.map((event) => event.code)).toContain(code);
      }
    });

    it('verifies the chain, at most once a minute, and names the first changed event', async () => {
      const first = await page(kit, kit.admin, '/admin/audit/verify');
      expect(first.status).toBe(200);
      expect(first.body).toContain('The audit log verified:');
      expect(first.body).toContain('Verified just now');
      // Someone with database access rewrites one event's detail.
      const db = kit.fx.gatehouse.core.store.db;
      const victim = await db.selectFrom('audit_events').select('seq').where('type', '=', 'user.changed').orderBy('seq').limit(1).executeTakeFirstOrThrow();
      await db.updateTable('audit_events').set({ detail: '{"n":"rewritten"}' }).where('seq', '=', victim.seq).execute();
      // Within the minute: the last result, said to be the last one, and no new walk of the log.
      const again = await page(kit, kit.admin, '/admin/audit/verify');
      expect(again.body).toContain('The audit log verified:');
      expect(again.body).toContain('Last verified');
      expect(again.body).toContain('a new verification can run after');
      kit.clock.advance(61_000);
      const later = await page(kit, kit.admin, '/admin/audit/verify');
      expect(later.status).toBe(200);
      expect(later.body).toContain('The audit log failed verification.');
      expect(later.body).toContain(`seq <code>${Number(victim.seq)}</code>`);
      // The head section reports the failure too.
      expect((await page(kit, kit.admin, '/admin/audit')).body).toContain(`<strong>failed</strong> at seq ${Number(victim.seq)}`);
    });
  });
}
