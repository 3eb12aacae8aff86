/**
 * The `ssh` apps behind POST /cli/ssh/certificate in a running Gatehouse: the client address is the one
 * the trusted-proxy list yields (as for the proxy), and a config reload replaces the apps' policies and
 * the CA's settings (principals) without a restart.
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSessionKey } from '../../src/ssh/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { fixtureConfigYaml, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const yaml = (officeCidr: string, logins: string) => `access:
  trusted_proxies: [127.0.0.1/32, "::1/128"]
ssh:
  principals:
    - { group: ops, logins: [${logins}] }
  apps:
    - name: office-only
      policies:
        - { action: allow, include: [{ group: [ops] }], require: [{ ip: [${officeCidr}] }] }
`;

const engines = [
  { name: 'SQLite file', available: true, url: async () => undefined },
  { name: 'PostgreSQL', available: await havePostgres(), url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_cli_login') },
];

for (const engine of engines) describe.runIf(engine.available)(`ssh apps: client address through trusted proxies, and reload (${engine.name})`, () => {
  let fx: GatehouseFixture;
  let credential: string;

  async function certificate(forwardedFor: string) {
    const res = await request(`http://127.0.0.1:${fx.port}/cli/ssh/certificate`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/json', authorization: `Bearer ${credential}`, 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ app: 'office-only', public_key: generateSessionKey().publicKeyLine }),
    });
    return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    const databaseUrl = await engine.url();
    fx = await startFixture({ watch: true, extraYaml: yaml('10.0.0.0/8', 'deploy'), ...(databaseUrl ? { databaseUrl } : {}) });
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'ann@acme.localhost', ['ops']);
    const verifier = randomBytes(32).toString('base64url');
    const redirect = 'http://127.0.0.1:53682/callback';
    const authorize = new URL('/cli/authorize', fx.portalOrigin);
    for (const [key, value] of Object.entries({ response_type: 'code', client_id: 'gatehouse-cli', redirect_uri: redirect, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 'state-0123456789' })) {
      authorize.searchParams.set(key, value);
    }
    const page = await browser.fetch(authorize.toString());
    const fields = Object.fromEntries([...page.body.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
    const consented = await browser.fetch(`${fx.portalOrigin}/cli/authorize`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
    const code = new URL(consented.location!).searchParams.get('code');
    const res = await request(`http://127.0.0.1:${fx.port}/cli/token`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: code!, code_verifier: verifier, redirect_uri: redirect }).toString(),
    });
    credential = String(((await res.body.json()) as { credential: string }).credential);
  }, 60_000);

  afterAll(async () => {
    await fx?.close();
  });

  it('judges the address the trusted proxy forwarded, and an address blocked at run time', async () => {
    const issued = await certificate('10.1.2.3');
    expect(issued).toMatchObject({ status: 200, body: { principals: ['deploy'] } });
    expect(await certificate('192.0.2.9')).toMatchObject({ status: 403, body: { code: 'ssh_policy_denied', reason: 'no_policy_matched' } });
    // A runtime block (incident response) stops the address at the portal's door, before any policy.
    await fx.gatehouse.access.ipBlocks.block('10.6.6.6/32', { reason: 'test', actor: 'test' });
    const blocked = await request(`http://127.0.0.1:${fx.port}/cli/ssh/certificate`, {
      method: 'POST',
      headers: { host: fx.portalHost, 'content-type': 'application/json', authorization: `Bearer ${credential}`, 'x-forwarded-for': '10.6.6.6' },
      body: JSON.stringify({ app: 'office-only', public_key: generateSessionKey().publicKeyLine }),
    });
    expect(blocked.statusCode).toBe(403);
    expect(await blocked.body.text()).not.toContain('ssh-ed25519-cert');
  });

  it('applies a reloaded config: new policies and new principals, without a restart', async () => {
    const databaseUrl = fx.gatehouse.core.snapshot().config.database.url;
    writeFileSync(fx.configPath, fixtureConfigYaml({ port: fx.port, dir: fx.dir, databaseUrl, extraYaml: yaml('192.0.2.0/24', 'deploy, backup') }));
    expect(await fx.gatehouse.config!.reload('test')).toBe(true);
    expect(await certificate('10.1.2.3')).toMatchObject({ status: 403, body: { code: 'ssh_policy_denied' } });
    expect(await certificate('192.0.2.9')).toMatchObject({ status: 200, body: { principals: ['backup', 'deploy'] } });
  });
});
