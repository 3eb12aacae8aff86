/**
 * The report webhook's `Authorization: Bearer` form and its `Idempotency-Key`
 * (draft-ietf-httpapi-idempotency-key-header), attacked. The attacker's view, written first:
 * - A hop that adds a credential (a proxy injecting its own token, a client library adding a default
 *   `Authorization`): a request carrying two tokens, or two `Authorization` headers, must not be read
 *   as either. 400 `report_intake_ambiguous_credentials`, audited, before any token is verified.
 * - The bearer form must be no weaker than the headers: a wrong secret, another scheme or a bearer
 *   without its client id is the same 401 with the verifier's code audited, and both forms draw on
 *   one per-token budget (switching form is not a fresh hour).
 * - A request replayed from a log, Idempotency-Key included: inside the window it files nothing and
 *   gets the first answer.
 * - A stolen token used with a predicted key to suppress a real report: whoever comes first with
 *   another body, the real report gets 422 `report_intake_idempotency_key_reused` (audited), never a
 *   202 carrying someone else's result.
 * - A key collision across tokens: another token's holder using the same key neither answers for
 *   nor blocks this token's report.
 * - Concurrent retries with one key: one report, never two.
 * Runs on SQLite and, when it answers, PostgreSQL.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_webhook_idempotency') },
];
const BUDGET = 8;

for (const engine of engines) {
  describe.runIf(engine.available)(`report webhook: bearer and idempotency keys (${engine.name})`, { timeout: 60_000 }, () => {
    let fx: GatehouseFixture;
    beforeAll(async () => {
      const databaseUrl = await engine.url();
      fx = await startFixture({
        ...(databaseUrl ? { databaseUrl } : {}),
        extraYaml: `dns:
  protect: { brands: [acme] }
  age: { enabled: false }
reports:
  allow_anonymous: true
  threshold_reporters: 50
  escalate_young_lookalike: false
  webhook: { per_token_per_hour: ${BUDGET}, trust_sender: true }
`,
      });
      await fx.gatehouse.core.identity.users.add({ email: 'ann@acme.localhost' });
    });
    afterAll(async () => {
      await fx?.close();
    });

    let tokens = 0;
    const issue = async () => fx.gatehouse.serviceTokens.create({ name: `gw-${++tokens}`, owner: 'soc@acme.localhost', apps: ['report-intake'], actor: 'admin@acme.localhost' });
    type Token = { clientId: string; secret: string };
    const bearer = (t: Token) => ({ authorization: `Bearer ${t.clientId}.${t.secret}` });
    const pair = (t: Token) => ({ 'gatehouse-client-id': t.clientId, 'gatehouse-client-secret': t.secret });
    async function post(headers: Record<string, string | string[]>, body: unknown) {
      const res = await request(`http://127.0.0.1:${fx.port}/api/reports/intake`, {
        method: 'POST',
        headers: { host: fx.portalHost, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      const json = (text.startsWith('{') ? JSON.parse(text) : {}) as { code?: string; message?: string; report?: string; group?: string | null };
      return { status: res.statusCode, ...json, replayed: res.headers['idempotent-replayed'], challenge: res.headers['www-authenticate'] };
    }
    const stored = async () => Number((await fx.gatehouse.core.store.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const lastAudit = async (type: string) => fx.gatehouse.core.store.db.selectFrom('audit_events').select(['code', 'detail']).where('type', '=', type).orderBy('seq', 'desc').executeTakeFirst();
    const report = (path: string) => ({ from: 'ann@acme.localhost', text: `Acme payroll: confirm at https://pay.acme-payroll.com/${path}` });

    it('files a report sent with `Authorization: Bearer <client id>.<secret>` like one sent with the two headers', async () => {
      const t = await issue();
      const reply = await post(bearer(t), report('bearer'));
      expect(reply).toMatchObject({ status: 202, report: expect.any(String) as string });
      const row = await fx.gatehouse.core.store.db.selectFrom('reports').select(['source', 'reporter']).where('id', '=', reply.report!).executeTakeFirstOrThrow();
      expect(row).toEqual({ source: 'webhook', reporter: 'ann@acme.localhost' });
      await expect.poll(async () => (await fx.gatehouse.serviceTokens.show(t.token.name)).lastUsedApp, { timeout: 5000 }).toBe('report-intake');
    });

    it('refuses a wrong bearer secret, another scheme and a bearer without its client id: 401 report_intake_unauthenticated, a Bearer challenge, the verifier\'s code audited', async () => {
      const t = await issue();
      const before = await stored();
      const cases: [string, string][] = [
        [`Bearer ${t.clientId}.gh-secret-${'A'.repeat(43)}`, 'service_token_bad_secret'],
        [`Basic ${Buffer.from(`${t.clientId}:${t.secret}`).toString('base64')}`, 'service_token_malformed'],
        [`Bearer ${t.secret}`, 'service_token_malformed'],
        [`Bearer ${t.secret}.${t.clientId}`, 'service_token_malformed'],
      ];
      for (const [authorization, code] of cases) {
        const reply = await post({ authorization }, report('wrong'));
        expect({ status: reply.status, code: reply.code, challenge: reply.challenge }).toEqual({ status: 401, code: 'report_intake_unauthenticated', challenge: 'Bearer realm="gatehouse-report-intake"' });
        expect((await lastAudit('service_token.refused'))?.code).toBe(code);
      }
      expect(await stored()).toBe(before);
    });

    it('refuses two tokens in one request (the headers and a different bearer, or two Authorization headers): 400 report_intake_ambiguous_credentials, audited, nothing filed', async () => {
      const mine = await issue();
      const injected = await issue();
      const before = await stored();
      // Both valid: whichever the server picked, a hop's token would act for the sender.
      for (const headers of [
        { ...pair(mine), ...bearer(injected) },
        { ...pair(mine), authorization: `Bearer ${mine.clientId}.gh-secret-${'A'.repeat(43)}` },
        { 'gatehouse-client-id': mine.clientId, ...bearer(mine) },
        { authorization: [bearer(mine).authorization, bearer(injected).authorization] },
        { authorization: [bearer(mine).authorization, bearer(mine).authorization] },
      ]) {
        const reply = await post(headers, report('ambiguous'));
        expect({ status: reply.status, code: reply.code }).toEqual({ status: 400, code: 'report_intake_ambiguous_credentials' });
        expect((await lastAudit('report.refused'))?.code).toBe('report_intake_ambiguous_credentials');
      }
      expect(await stored()).toBe(before);
      // The same token in both forms is one presentation.
      expect((await post({ ...pair(mine), ...bearer(mine) }, report('both'))).status).toBe(202);
    });

    it('holds a token to one per-token budget whichever form it is sent in: 429 report_rate_limited', async () => {
      const t = await issue();
      const statuses = [];
      for (let i = 0; i < BUDGET; i++) statuses.push((await post(i % 2 === 0 ? bearer(t) : pair(t), report(`budget-${i}`))).status);
      expect(statuses).toEqual(Array<number>(BUDGET).fill(202));
      expect(await post(bearer(t), report('budget-over'))).toMatchObject({ status: 429, code: 'report_rate_limited' });
      expect(await post(pair(t), report('budget-over'))).toMatchObject({ status: 429, code: 'report_rate_limited' });
    });

    it('answers a request replayed with its Idempotency-Key with the first answer, in either form, filing nothing', async () => {
      const t = await issue();
      const headers = { ...bearer(t), 'idempotency-key': '"8e03978e-40d5-43e8-bc93-6894a57f9324"' };
      const first = await post(headers, report('retried'));
      expect(first).toMatchObject({ status: 202, replayed: undefined });
      const before = await stored();
      const retry = await post(headers, report('retried'));
      const otherForm = await post({ ...pair(t), 'idempotency-key': '8e03978e-40d5-43e8-bc93-6894a57f9324' }, JSON.stringify(report('retried'), null, 2));
      for (const reply of [retry, otherForm]) expect(reply).toMatchObject({ status: 202, report: first.report, group: first.group, replayed: 'true' });
      expect(await stored()).toBe(before);
      const row = await fx.gatehouse.core.store.db.selectFrom('report_intake_keys').select(['key_hash']).where('token_id', '=', t.token.id).executeTakeFirstOrThrow();
      expect(row.key_hash).not.toContain('8e03978e');
    });

    it('refuses the same key with another body: 422 report_intake_idempotency_key_reused, audited, never someone else\'s answer', async () => {
      const t = await issue();
      const key = { 'idempotency-key': 'predictable-0001' };
      // The holder of a stolen token uses the gateway's next key first, with a harmless body.
      expect((await post({ ...bearer(t), ...key }, { text: 'nothing to see here' })).status).toBe(202);
      const before = await stored();
      const real = await post({ ...pair(t), ...key }, report('real-lure'));
      expect({ status: real.status, code: real.code, report: real.report }).toEqual({ status: 422, code: 'report_intake_idempotency_key_reused', report: undefined });
      const audit = await lastAudit('report.refused');
      expect(audit?.code).toBe('report_intake_idempotency_key_reused');
      expect(JSON.stringify(audit)).not.toContain('predictable-0001');
      expect(await stored()).toBe(before);
    });

    it('scopes a key to its token: another token\'s holder using it neither answers for nor blocks this token\'s report', async () => {
      const gateway = await issue();
      const attacker = await issue();
      const key = { 'idempotency-key': 'shared-key-42' };
      const planted = await post({ ...bearer(attacker), ...key }, { text: 'decoy' });
      expect(planted.status).toBe(202);
      const real = await post({ ...bearer(gateway), ...key }, report('collision'));
      expect(real).toMatchObject({ status: 202, replayed: undefined });
      expect(real.report).not.toBe(planted.report);
      expect((await post({ ...bearer(gateway), ...key }, report('collision'))).report).toBe(real.report);
    });

    it('files one report for concurrent retries of one key; the others are 409 report_intake_idempotency_in_progress or the same answer', async () => {
      const t = await issue();
      const before = await stored();
      const replies = await Promise.all(Array.from({ length: 6 }, () => post({ ...bearer(t), 'idempotency-key': 'burst-1' }, report('burst'))));
      expect(await stored()).toBe(before + 1);
      const filed = replies.filter((r) => r.status === 202);
      expect(filed.length).toBeGreaterThanOrEqual(1);
      expect(new Set(filed.map((r) => r.report)).size).toBe(1);
      for (const r of replies.filter((x) => x.status !== 202)) expect({ status: r.status, code: r.code }).toEqual({ status: 409, code: 'report_intake_idempotency_in_progress' });
    });

    it('refuses a bad Idempotency-Key with 400 report_intake_bad_idempotency_key naming why, filing nothing', async () => {
      const t = await issue();
      const before = await stored();
      const cases: [string | string[], string][] = [
        [['k1', 'k2'], 'Idempotency-Key sent 2 times'],
        ['k'.repeat(256), 'Idempotency-Key longer than 255 characters'],
        ['two words', 'Idempotency-Key must be a quoted string or visible ASCII without spaces, quotes or commas'],
        ['""', 'Idempotency-Key is empty'],
      ];
      for (const [value, message] of cases) {
        expect(await post({ ...bearer(t), 'idempotency-key': value }, report('badkey'))).toMatchObject({ status: 400, code: 'report_intake_bad_idempotency_key', message });
      }
      expect(await stored()).toBe(before);
    });

    it('frees a key whose request was refused: the corrected retry with the same key files', async () => {
      const t = await issue();
      const key = { 'idempotency-key': 'fix-and-retry' };
      expect(await post({ ...bearer(t), ...key }, { text: 'x', reporter: 'ann' })).toMatchObject({ status: 400, code: 'report_intake_bad_body' });
      expect(await post({ ...bearer(t), ...key }, report('fixed'))).toMatchObject({ status: 202, replayed: undefined });
    });

    it('changes nothing without the header: two identical posts file two reports', async () => {
      const t = await issue();
      const before = await stored();
      const a = await post(bearer(t), report('twice'));
      const b = await post(bearer(t), report('twice'));
      expect([a.status, b.status]).toEqual([202, 202]);
      expect(a.report).not.toBe(b.report);
      expect(await stored()).toBe(before + 2);
    });
  });
}
