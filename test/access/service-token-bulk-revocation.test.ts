/**
 * Bulk revocation of service tokens (`gatehouse tokens revoke --tag | --owner | --all --yes`) with two
 * instances on one database: the command writes every revocation in one transaction, and the other
 * instance refuses every revoked token once it has read the one feed row, while tokens out of scope
 * keep working. Each token gets its own audit event; refusals carry their codes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IssuedServiceToken } from '../../src/credentials/index.js';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse } from '../support/cli.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';

const pgAvailable = await havePostgres();
let upstream: http.Server;

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('upstream'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
});
afterAll(async () => {
  await new Promise((r) => upstream?.close(r));
});

const appsYaml = () => `apps:
  - name: deploy
    host: deploy.acme.localhost
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    policies:
      - { name: machines, action: allow, include: [{ service_token_tag: [ci, nightly, misc] }] }
`;

for (const engine of [{ name: 'one SQLite file', postgres: false }, ...(pgAvailable ? [{ name: 'PostgreSQL', postgres: true }] : [])]) {
  describe(`bulk revocation on two instances (${engine.name})`, () => {
    let a: GatehouseFixture;
    let b: GatehouseFixture;
    const issued = new Map<string, IssuedServiceToken>();
    const cli = (args: string[]) => runGatehouse(args, { config: a.configPath });
    const statusOnB = async (name: string) => {
      const token = issued.get(name)!;
      const reply = await new TestBrowser(b.port).fetch(`http://deploy.acme.localhost:${b.port}/`, { headers: { 'Gatehouse-Client-Id': token.clientId, 'Gatehouse-Client-Secret': token.secret } });
      return reply.status;
    };
    const statusesOnB = async (names: string[]) => Promise.all(names.map(statusOnB));
    const applied = async () => {
      await a.gatehouse.feed.pollNow();
      await b.gatehouse.feed.pollNow();
    };
    const ci = Array.from({ length: 12 }, (_, i) => `ci-${i}`);
    const nightly = ['nightly-a', 'nightly-b'];
    const misc = ['misc-a', 'misc-b', 'misc-c'];

    beforeAll(async () => {
      const databaseUrl = engine.postgres ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_service_token_bulk') : undefined;
      a = await startFixture({ extraYaml: appsYaml(), ...(databaseUrl ? { databaseUrl } : {}) });
      b = await startFixture({ extraYaml: appsYaml(), ...(databaseUrl ? { databaseUrl } : { dir: a.dir }) });
      const make = async (name: string, tag: string, owner: string) =>
        issued.set(name, await a.gatehouse.serviceTokens.create({ name, owner, apps: ['deploy'], tags: [tag], actor: 'admin@acme.test' }));
      for (const name of ci) await make(name, 'ci', 'build@acme.test');
      for (const name of nightly) await make(name, 'nightly', 'ops@acme.test');
      for (const name of misc) await make(name, 'misc', 'misc@acme.test');
      await applied();
      expect(await statusesOnB([...ci, ...nightly, ...misc])).toEqual(Array(17).fill(200));
    });
    afterAll(async () => {
      await b?.close();
      await a?.close();
    });

    it('--tag revokes every token with the tag in one command; the other instance refuses each one, the rest keep working', async () => {
      const result = await cli(['tokens', 'revoke', '--tag', 'ci', '--reason', 'leaked in a CI log', '--json']);
      expect(result.code).toBe(0);
      const body = JSON.parse(result.stdout) as { matched: number; revoked: string[]; alreadyRevoked: number };
      expect(body).toMatchObject({ matched: 12, alreadyRevoked: 0 });
      expect([...body.revoked].sort()).toEqual([...ci].sort());
      await applied();
      expect(await statusesOnB(ci)).toEqual(Array(12).fill(403));
      expect(await statusesOnB([...nightly, ...misc])).toEqual(Array(5).fill(200));
      // Refusal events are written after the answer leaves (off the request path): poll for them.
      const refusalCodes = async () => new Set((await b.gatehouse.core.audit.list({ type: 'service_token.refused' })).filter((e) => ci.includes(String(e.detail.name))).map((e) => e.code));
      await expect.poll(refusalCodes, { timeout: 10_000 }).toEqual(new Set(['service_token_revoked']));
      // One audit event per token, naming it and the scope; never a secret or a digest.
      const events = (await a.gatehouse.core.audit.list({ type: 'service_token.revoked' })).filter((e) => ci.includes(String(e.detail.name)));
      expect(events).toHaveLength(12);
      for (const event of events) expect(event).toMatchObject({ actor: 'cli', outcome: 'success', detail: { status: 'revoked', reason: 'leaked in a CI log', scope: { tag: 'ci' } } });
      const text = JSON.stringify(events);
      for (const name of ci) expect(text).not.toContain(issued.get(name)!.secret);
      expect(text).not.toMatch(/[0-9a-f]{64}/);
      // Again: nothing left to revoke, said so.
      const again = await cli(['tokens', 'revoke', '--tag', 'ci']);
      expect(again).toMatchObject({ code: 0, stdout: '0 service token(s) revoked (12 already revoked)\n' });
    });

    it('--owner revokes every token of that owner (the address as it was normalised at creation)', async () => {
      const result = await cli(['tokens', 'revoke', '--owner', 'OPS@acme.test']);
      expect(result).toMatchObject({ code: 0, stdout: '2 service token(s) revoked\n' });
      await applied();
      expect(await statusesOnB(nightly)).toEqual([403, 403]);
      expect(await statusesOnB(misc)).toEqual([200, 200, 200]);
    });

    it('refuses --all without --yes, an unknown tag, a malformed tag and two scopes at once, revoking nothing', async () => {
      const unconfirmed = await cli(['tokens', 'revoke', '--all']);
      expect(unconfirmed.code).toBe(2);
      expect(unconfirmed.stderr).toContain('[service_token_confirmation_required]');
      expect(unconfirmed.stderr).toContain('--yes');
      const unknown = await cli(['tokens', 'revoke', '--tag', 'ghost']);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toContain('no service token has the tag ghost');
      expect(unknown.stderr).toContain('[service_token_not_found]');
      const nobody = await cli(['tokens', 'revoke', '--owner', 'nobody@acme.test']);
      expect(nobody.stderr).toContain('[service_token_not_found]');
      const malformed = await cli(['tokens', 'revoke', '--tag', 'Not A Tag']);
      expect(malformed.code).toBe(2);
      expect(malformed.stderr).toContain('[service_token_invalid_input]');
      const both = await cli(['tokens', 'revoke', '--tag', 'misc', '--all', '--yes']);
      expect(both.code).toBe(2);
      expect(both.stderr).toContain('exactly one of');
      await applied();
      expect(await statusesOnB(misc)).toEqual([200, 200, 200]);
    });

    it('--all --yes revokes every token still live', async () => {
      const result = await cli(['tokens', 'revoke', '--all', '--yes', '--json']);
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ matched: 17, revoked: expect.arrayContaining(misc), alreadyRevoked: 14 });
      await applied();
      expect(await statusesOnB(misc)).toEqual([403, 403, 403]);
      const listed = JSON.parse((await cli(['tokens', 'list', '--json'])).stdout) as { status: string }[];
      expect(listed.every((t) => t.status === 'revoked')).toBe(true);
    });
  });
}
