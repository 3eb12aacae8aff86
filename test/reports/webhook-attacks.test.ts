/**
 * The report intake webhook attacked (the attacker's view, written before the tests), beyond
 * report-webhook.test.ts (no/wrong/revoked token, forged reporter, oversize, replay, flood):
 * - A token where a careless integration puts it: the query string (logged by every proxy). It must
 *   never be read from there, and the refusal must be the same generic 401.
 * - A token sent twice (two secret headers, one guessed): never "one of them matched".
 * - Slowloris without a token: headers announcing a large body, then nothing. The 401 must come
 *   without waiting for the body (the token is checked before a byte of it is read).
 * - A stolen gateway token: content-type confusion (a form post, text/plain JSON, no type, an
 *   unknown type), prototype-pollution keys, JSON nested 20,000 deep inside the
 *   size limit, NUL bytes in `text` or `from` or a raw message (PostgreSQL refuses NUL in text: an
 *   unchecked one is a 500 and a report half stored). Each is a 4xx with a stable code, never a 500.
 * - A flood of bad tokens from one address, or from a fresh IPv6 address of one /64 each time: at most
 *   30 refusal lines a minute in the audit log.
 * Runs on SQLite and, when it answers, PostgreSQL.
 */
import net from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_webhook_attacks') },
];
const MAX = 8192;

for (const engine of engines) {
  describe.runIf(engine.available)(`report webhook attacks (${engine.name})`, { timeout: 60_000 }, () => {
    let fx: GatehouseFixture;
    beforeAll(async () => {
      const databaseUrl = await engine.url();
      fx = await startFixture({
        ...(databaseUrl ? { databaseUrl } : {}),
        // The loopback peer is a trusted proxy, so a test can speak for IPv6 clients (X-Forwarded-For).
        extraYaml: `access:
  trusted_proxies: ["127.0.0.1/32", "::1/128"]
dns:
  protect: { brands: [acme] }
  age: { enabled: false }
reports:
  allow_anonymous: true
  threshold_reporters: 50
  escalate_young_lookalike: false
  max_body_bytes: ${MAX}
  webhook: { per_token_per_hour: 1000, trust_sender: true }
`,
      });
      await fx.gatehouse.core.identity.users.add({ email: 'ann@acme.localhost' });
    });
    afterAll(async () => {
      await fx?.close();
    });

    let tokens = 0;
    const issue = async () => fx.gatehouse.serviceTokens.create({ name: `gw-${++tokens}`, owner: 'soc@acme.localhost', apps: ['report-intake'], actor: 'admin@acme.localhost' });
    async function post(path: string, headers: Record<string, string | string[]>, body: string) {
      const res = await request(`http://127.0.0.1:${fx.port}${path}`, { method: 'POST', headers: { host: fx.portalHost, ...headers }, body });
      const text = await res.body.text();
      let json: { code?: string; message?: string; report?: string } = {};
      try {
        json = JSON.parse(text) as typeof json;
      } catch {
        // not JSON
      }
      return { status: res.statusCode, code: json.code, message: json.message, report: json.report, cache: res.headers['cache-control'] };
    }
    const auth = (t: { clientId: string; secret: string }) => ({ 'gatehouse-client-id': t.clientId, 'gatehouse-client-secret': t.secret });
    const stored = async () => Number((await fx.gatehouse.core.store.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

    it('never reads the token from the query string', async () => {
      const t = await issue();
      const before = await stored();
      const query = new URLSearchParams({ 'gatehouse-client-id': t.clientId, 'gatehouse-client-secret': t.secret, client_id: t.clientId, client_secret: t.secret, token: t.secret }).toString();
      const reply = await post(`/api/reports/intake?${query}`, { 'content-type': 'application/json' }, JSON.stringify({ text: 'https://pay.acme-payroll.com/q' }));
      expect({ status: reply.status, code: reply.code, cache: reply.cache }).toEqual({ status: 401, code: 'report_intake_unauthenticated', cache: 'no-store' });
      expect(await stored()).toBe(before);
    });

    it('refuses a secret sent twice, even when one copy is right', async () => {
      const t = await issue();
      const reply = await post('/api/reports/intake', { 'content-type': 'application/json', 'gatehouse-client-id': t.clientId, 'gatehouse-client-secret': [t.secret, `gh-secret-${'A'.repeat(43)}`] }, JSON.stringify({ text: 'https://pay.acme-payroll.com/d' }));
      expect({ status: reply.status, code: reply.code }).toEqual({ status: 401, code: 'report_intake_unauthenticated' });
      const ids = await post('/api/reports/intake', { 'content-type': 'application/json', 'gatehouse-client-id': [t.clientId, t.clientId], 'gatehouse-client-secret': t.secret }, JSON.stringify({ text: 'https://pay.acme-payroll.com/d' }));
      expect({ status: ids.status, code: ids.code }).toEqual({ status: 401, code: 'report_intake_unauthenticated' });
    });

    it('answers a token-less client that announces a body and never sends it: 401 without waiting for the body', async () => {
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(fx.port, '127.0.0.1', () => {
          socket.write(`POST /api/reports/intake HTTP/1.1\r\nHost: ${fx.portalHost}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"text":"`);
        });
        let data = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          data += chunk;
          if (data.includes('\r\n\r\n')) {
            socket.destroy();
            resolve(data);
          }
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(data));
      });
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 401 Unauthorized');
    });

    it('answers content-type confusion with a 4xx and stores nothing', async () => {
      const t = await issue();
      const before = await stored();
      const text = JSON.stringify({ text: 'https://pay.acme-payroll.com/c' });
      const cases: [string | undefined, string][] = [
        ['application/x-www-form-urlencoded', 'text=https%3A%2F%2Fpay.acme-payroll.com%2Fc'],
        ['text/plain', text],
        ['multipart/form-data; boundary=b', `--b\r\nContent-Disposition: form-data; name="text"\r\n\r\nhttps://pay.acme-payroll.com/c\r\n--b--\r\n`],
        ['message/rfc822', text.replace(/\{/g, '')],
        [undefined, text],
        ['application/json', 'null'],
        ['application/json', '["https://pay.acme-payroll.com/c"]'],
        ['application/json', '{"text": "x", "text": {"nested": 1}}'],
      ];
      const seen = [];
      for (const [type, body] of cases) {
        const reply = await post('/api/reports/intake', { ...auth(t), ...(type ? { 'content-type': type } : {}) }, body);
        seen.push({ type, fourxx: reply.status >= 400 && reply.status < 500 });
      }
      // A raw message without headers is still a message (its text is read): the one case that may be stored.
      expect(seen).toEqual(cases.map(([type]) => ({ type, fourxx: type !== 'message/rfc822' ? true : expect.any(Boolean) as boolean })));
      expect(await stored()).toBeLessThanOrEqual(before + 1);
    });

    it('refuses prototype-pollution keys and JSON nested 20,000 deep (inside the size limit) with a 400, never a 500', async () => {
      const t = await issue();
      const deep = `{"text":"https://pay.acme-payroll.com/n","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
      for (const body of [
        '{"text":"https://pay.acme-payroll.com/p","__proto__":{"trust_sender":true}}',
        '{"text":"https://pay.acme-payroll.com/p","constructor":{"prototype":{"admin":true}}}',
        `{"text":"a","x":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}}`,
        deep,
      ]) {
        const reply = await post('/api/reports/intake', { ...auth(t), 'content-type': 'application/json' }, body);
        expect({ body: body.slice(0, 60), status: reply.status }).toEqual({ body: body.slice(0, 60), status: 400 });
      }
      expect(({} as Record<string, unknown>).trust_sender).toBeUndefined();
    });

    it('refuses NUL bytes in the text, the sender or a raw message with 400 report_intake_bad_body, storing nothing', async () => {
      const t = await issue();
      const before = await stored();
      const cases: [string, string][] = [
        ['application/json', JSON.stringify({ text: 'pay at https://pay.acme-payroll.com/z\u0000' })],
        ['application/json', JSON.stringify({ from: 'ann@acme.localhost\u0000', text: 'https://pay.acme-payroll.com/z' })],
        ['message/rfc822', 'From: ann@acme.localhost\r\nSubject: hi\u0000\r\nContent-Type: text/plain\r\n\r\nreset at https://pay.acme-payroll.com/z\u0000\r\n'],
      ];
      const seen = [];
      for (const [type, body] of cases) {
        const reply = await post('/api/reports/intake', { ...auth(t), 'content-type': type }, body);
        seen.push({ type, status: reply.status, code: reply.code });
      }
      expect(seen).toEqual(cases.map(([type]) => ({ type, status: 400, code: 'report_intake_bad_body' })));
      expect(await stored()).toBe(before);
    });

    it('writes at most 30 refusal lines a minute for one address, however many bad tokens it sends', async () => {
      const count = async () => Number((await fx.gatehouse.core.store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'service_token.refused').executeTakeFirstOrThrow()).n);
      const before = await count();
      for (let i = 0; i < 45; i++) {
        const reply = await post('/api/reports/intake', { 'content-type': 'application/json', 'gatehouse-client-id': `gh-client-${i}`, 'gatehouse-client-secret': 'nope' }, '{}');
        expect(reply.status).toBe(401);
      }
      expect(await count() - before).toBeLessThanOrEqual(30);
    });

    it('counts a fresh IPv6 address of the same /64 as the same client for refusal lines', async () => {
      const count = async () => Number((await fx.gatehouse.core.store.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'service_token.refused').executeTakeFirstOrThrow()).n);
      const before = await count();
      for (let i = 1; i <= 45; i++) {
        const reply = await post('/api/reports/intake', { 'content-type': 'application/json', 'x-forwarded-for': `2001:db8:7:9::${i.toString(16)}`, 'gatehouse-client-id': `gh-client-${i}`, 'gatehouse-client-secret': 'nope' }, '{}');
        expect(reply.status).toBe(401);
      }
      const lines = (await count()) - before;
      expect(lines).toBeGreaterThan(0);
      expect(lines).toBeLessThanOrEqual(30);
      const ips = await fx.gatehouse.core.store.db.selectFrom('audit_events').select('ip').where('type', '=', 'service_token.refused').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
      expect(ips.ip).toMatch(/^2001:db8:7:9::/);
    });
  });
}

// Not closed yet (a known limit, listed in the closing note):
// holds per_token_per_hour across instances: the limiter is a RateLimiter in each process
// (build-reports.ts), so a stolen gateway token behind a load balancer of N instances files N times the
// hourly budget of reports (and of audit lines); a shared counter in the store (a row per token and hour,
// incremented with a conditional update) would make the budget global
