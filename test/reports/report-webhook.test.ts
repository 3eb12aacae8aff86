import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatehouse } from '../support/cli.js';
import { startRdapFixture, type RdapFixture } from '../../src/intel/domain-age/test-support/rdap-fixture-server.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

/**
 * The gateway webhook on a running server, as the attacker would try it: no token, a wrong secret, a
 * token for another app, a revoked one (401, one code for all, the verifier's code audited); a forged
 * reporter (403 with anonymous reports off); an oversize or malformed body; a replayed request (never
 * a second reporter); a flood (429). And the way in that works: JSON `{from, text}` and raw MIME.
 */
describe('report webhook intake (running server)', () => {
  let rdap: RdapFixture;
  let fx: GatehouseFixture;
  const MAX = 4096;

  beforeAll(async () => {
    rdap = await startRdapFixture();
    rdap.set('acme-payroll.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
    rdap.set('example.org', { kind: 'registered', registeredAt: Date.UTC(1995, 0, 1) });
    fx = await startFixture({
      rdapConnection: rdap.connection,
      extraYaml: `dns:
  protect: { brands: [acme], domains: [acme.localhost] }
  age: { rdap_overrides: { com: "${rdap.baseUrl}", org: "${rdap.baseUrl}" }, time_budget_ms: 5000 }
reports:
  threshold_reporters: 3
  max_body_bytes: ${MAX}
  webhook: { per_token_per_hour: 6, trust_sender: true }
`,
    });
    for (const email of ['ann@acme.localhost', 'bob@acme.localhost']) await fx.gatehouse.core.identity.users.add({ email });
  });
  afterAll(async () => {
    await fx?.close();
    await rdap?.close();
  });

  let tokens = 0;
  const issue = async (apps = ['report-intake']) => fx.gatehouse.serviceTokens.create({ name: `sms-gateway-${++tokens}`, owner: 'soc@acme.localhost', apps, actor: 'admin@acme.localhost' });
  type Credentials = { clientId: string; secret: string } | undefined;
  async function post(credentials: Credentials, body: string, contentType = 'application/json') {
    const res = await request(`http://127.0.0.1:${fx.port}/api/reports/intake`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': contentType, ...(credentials ? { 'gatehouse-client-id': credentials.clientId, 'gatehouse-client-secret': credentials.secret } : {}) },
      body,
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: (text.startsWith('{') ? JSON.parse(text) : {}) as { code?: string; message?: string; report?: string; group?: string | null } };
  }
  const json = (value: unknown) => JSON.stringify(value);
  const storedCount = async () => Number((await fx.gatehouse.core.store.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const lastAuditCode = async (type: string) => (await fx.gatehouse.core.store.db.selectFrom('audit_events').select('code').where('type', '=', type).orderBy('seq', 'desc').executeTakeFirst())?.code;

  it('a token for the intake posts JSON from a directory user: 202, stored as a webhook report of that reporter', async () => {
    const token = await issue();
    const reply = await post(token, json({ from: 'Ann@acme.localhost', text: 'SMS: Acme payroll: confirm at hxxps://pay.acme-payroll[.]com/x' }));
    expect(reply.status).toBe(202);
    const row = await fx.gatehouse.core.store.db.selectFrom('reports').select(['source', 'reporter', 'group_id']).where('id', '=', reply.body.report!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ source: 'webhook', reporter: 'ann@acme.localhost' });
    expect(row.group_id).toBe(reply.body.group);
  });

  it('`gatehouse tokens create --app report-intake` issues a token the webhook accepts', async () => {
    const created = await runGatehouse(['tokens', 'create', 'mail-gateway', '--owner', 'soc@acme.localhost', '--app', 'report-intake', '--json'], { config: fx.configPath });
    expect(created.code).toBe(0);
    const issued = JSON.parse(created.stdout) as { clientId: string; secret: string };
    // The CLI wrote the token from another store handle: the server learns it through the change feed.
    await expect.poll(async () => (await post(issued, json({ from: 'ann@acme.localhost', text: 'https://acme-payroll.com/cli' }))).status, { timeout: 5000 }).toBe(202);
  });

  it('raw MIME (message/rfc822) is read like the SMTP intake reads it', async () => {
    const token = await issue();
    const mime = 'From: bob@acme.localhost\r\nSubject: Fwd: reset\r\nContent-Type: text/plain\r\n\r\nreset at https://reset.acme-payroll.com/y\r\n';
    const reply = await post(token, mime, 'message/rfc822');
    expect(reply.status).toBe(202);
    const row = await fx.gatehouse.core.store.db.selectFrom('reports').select(['body', 'reporter']).where('id', '=', reply.body.report!).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ reporter: 'bob@acme.localhost' });
    expect(row.body).toContain('https://reset.acme-payroll.com/y');
  });

  it('no token, a wrong secret, another app\'s token, a revoked token: 401 report_intake_unauthenticated, the cause audited, nothing stored', async () => {
    const before = await storedCount();
    const body = json({ from: 'ann@acme.localhost', text: 'https://acme-payroll.com/u' });
    expect(await post(undefined, body)).toMatchObject({ status: 401, body: { code: 'report_intake_unauthenticated' } });
    expect(await lastAuditCode('service_token.refused')).toBe('service_token_malformed');
    const token = await issue();
    const wrong = { clientId: token.clientId, secret: `gh-secret-${'A'.repeat(43)}` };
    expect(await post(wrong, body)).toMatchObject({ status: 401, body: { code: 'report_intake_unauthenticated' } });
    expect(await lastAuditCode('service_token.refused')).toBe('service_token_bad_secret');
    const deploy = await issue(['deploy']);
    expect(await post(deploy, body)).toMatchObject({ status: 401, body: { code: 'report_intake_unauthenticated' } });
    expect(await lastAuditCode('service_token.refused')).toBe('service_token_app_not_allowed');
    await fx.gatehouse.serviceTokens.revoke(token.token.name, { actor: 'admin@acme.localhost' });
    expect(await post(token, body)).toMatchObject({ status: 401, body: { code: 'report_intake_unauthenticated' } });
    expect(await lastAuditCode('service_token.refused')).toBe('service_token_revoked');
    expect(await storedCount()).toBe(before);
  });

  it('an unauthenticated oversize upload is refused before its body is read (401, not 413)', async () => {
    expect((await post(undefined, 'x'.repeat(200 * 1024))).status).toBe(401);
  });

  it('a forged reporter is not a reporter: anonymous reports off, an unknown or absent `from` is 403 report_anonymous_refused, nothing stored', async () => {
    const token = await issue();
    const before = await storedCount();
    expect(await post(token, json({ from: 'ceo@elsewhere.example', text: 'https://acme-payroll.com/f' }))).toMatchObject({ status: 403, body: { code: 'report_anonymous_refused' } });
    expect(await post(token, json({ text: 'https://acme-payroll.com/f' }))).toMatchObject({ status: 403, body: { code: 'report_anonymous_refused' } });
    expect(await lastAuditCode('report.refused')).toBe('report_anonymous_refused');
    expect(await storedCount()).toBe(before);
  });

  it('bad bodies get 400 report_intake_bad_body naming what is wrong; too large 413 report_too_large; another media type 400 or 415', async () => {
    const token = await issue();
    const unknownKey = await post(token, json({ from: 'ann@acme.localhost', text: 'x', reporter: 'bob@acme.localhost' }));
    expect(unknownKey).toMatchObject({ status: 400, body: { code: 'report_intake_bad_body' } });
    expect(unknownKey.body.message).toContain('unknown field "reporter"');
    expect(await post(token, json({ from: 'ann@acme.localhost', text: 42 }))).toMatchObject({ status: 400, body: { code: 'report_intake_bad_body', message: '"text" must be a string' } });
    const malformed = await post(token, 'From: ann@acme.localhost\r\nContent-Type: multipart/mixed\r\n\r\nno boundary', 'message/rfc822');
    expect(malformed).toMatchObject({ status: 400, body: { code: 'report_intake_bad_body' } });
    expect(malformed.body.message).toContain('a multipart body without a boundary');
    expect(await post(token, json({ from: 'ann@acme.localhost', text: `https://acme-payroll.com ${'A'.repeat(MAX)}` }))).toMatchObject({ status: 413, body: { code: 'report_too_large' } });
    expect((await post(token, 'A'.repeat(MAX * 7), 'message/rfc822')).status).toBe(413);
    const plain = await post(token, 'https://acme-payroll.com/p', 'text/plain');
    expect(plain).toMatchObject({ status: 400, body: { code: 'report_intake_bad_body' } });
    expect(plain.body.message).toContain('send application/json');
    expect((await post(await issue(), 'x', 'application/x-unknown')).status).toBe(415);
  });

  it('a replayed request adds reports, never a reporter: no escalation; past per_token_per_hour, 429 report_rate_limited', async () => {
    const token = await issue();
    const body = json({ from: 'bob@acme.localhost', text: 'Acme HR: https://hr.acme-payroll.com/replayed' });
    const replies = [];
    for (let i = 0; i < 7; i++) replies.push(await post(token, body));
    expect(replies.slice(0, 6).map((r) => r.status)).toEqual([202, 202, 202, 202, 202, 202]);
    expect(replies[6]).toMatchObject({ status: 429, body: { code: 'report_rate_limited' } });
    const group = (await fx.gatehouse.reports.reports.groups()).find((g) => g.domain === 'acme-payroll.com')!;
    // ann and bob from the earlier tests and the replays: two people, never three.
    expect(group).toMatchObject({ status: 'open', reporters: 2 });
    expect((await fx.gatehouse.dns.domainBlocks.list()).map((b) => b.name)).not.toContain('acme-payroll.com');
  });
});
