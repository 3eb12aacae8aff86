import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { freshPostgresDatabase } from '../../../test/support/gatehouse-fixture.js';
import { createAuditLog } from '../../audit/index.js';
import { isGatehouseError } from '../../lib/errors.js';
import { ManualClock } from '../../lib/clock.js';
import { cryptoRandom } from '../../lib/random.js';
import { openStore, type Store } from '../../store/index.js';
import { createServiceTokens } from '../service-tokens/index.js';
import { checkLocator, CredentialInventory, listOwnCredentials, parseCsv, parseInventoryCsv, parseInventoryJson } from './index.js';

function refusal(run: () => unknown): { code: string; message: string } {
  try {
    run();
  } catch (error) {
    if (isGatehouseError(error)) return { code: error.code, message: error.publicMessage };
    throw error;
  }
  throw new Error('expected a refusal');
}

const HEADER = 'name,kind,system,owner,scope,rotator,locator,believed_unused,last_used_at,last_used_evidence';
const GOOD = [
  HEADER,
  'gh-deploy-bot,api_token,github,dev@acme.test,repo:write,exec,"{""path"":""/etc/gh/bot""}",false,2023-11-14T08:00:00Z,"GitHub audit log, ""push"" event"',
  'billing_svc,database_role,billing-db,dba@acme.test,"read, write",postgres-role,"{""role"":""billing_svc"",""host"":""db1.acme.internal""}",,,',
].join('\r\n');

describe('inventory files', () => {
  it('parses RFC 4180 CSV: quoted commas, doubled quotes, line breaks inside quotes, and remembers lines', () => {
    const records = parseCsv('a,b\n"x, y","say ""hi"""\n"multi\nline",z\n');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b'] },
      { line: 2, fields: ['x, y', 'say "hi"'] },
      { line: 3, fields: ['multi\nline', 'z'] },
    ]);
  });

  it('names the line and the column of a bad row', () => {
    const badOwner = refusal(() => parseInventoryCsv(`${GOOD}\r\nwiki-bot,service_account,wiki,not-an-email,,,,,,`));
    expect(badOwner.code).toBe('inventory_import_invalid');
    expect(badOwner.message).toBe('line 4, column "owner": "not-an-email" is not an email address');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\nx,robot,wiki,a@acme.test,,,,,,`)).message).toContain('line 2, column "kind": "robot" is not one of');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\nx,other,wiki,a@acme.test,,,,maybe,,`)).message).toBe('line 2, column "believed_unused": must be true or false');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\nx,other,wiki,a@acme.test,,,,,yesterday,`)).message).toContain('line 2, column "last_used_at"');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\nx,other,wiki`)).message).toBe('line 2: 3 fields where the header has 10');
    expect(refusal(() => parseInventoryCsv('name,colour\nx,red')).message).toContain('line 1: unknown column "colour"');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\nx,other,wiki,a@acme.test,,,,,,\nx,other,wiki,a@acme.test,,,,,,`)).message).toBe('line 3, column "name": "x" is already on line 2');
    expect(refusal(() => parseInventoryCsv(`${HEADER}\n"x,other`)).message).toBe('line 2: a quoted field is never closed');
    expect(refusal(() => parseInventoryJson('[{"name":"a","kind":"other","system":"s","owner":"a@acme.test"},{"name":"b","kind":"other","system":"s"}]')).message).toBe('item [1], column "owner": is required');
    expect(refusal(() => parseInventoryJson('{"name":"a"}')).code).toBe('inventory_import_invalid');
  });

  it('refuses a locator that looks like a secret, naming the key and never echoing the value', () => {
    const secret = 'ghp_R4nd0mLo0k1ngT0kenV4lue9x8Qz7Lm2';
    for (const locator of [{ path: secret }, { dsn: 'postgres://svc:hunter2@db1/billing' }, { note: 'password=hunter2' }, { password: 'x' }]) {
      const refused = refusal(() => checkLocator(JSON.stringify(locator), 'line 2'));
      expect(refused.code).toBe('inventory_locator_secret');
      expect(refused.message).toContain(`locator.${Object.keys(locator)[0]}`);
      expect(refused.message).not.toContain(Object.values(locator)[0]);
    }
    const fromCsv = refusal(() => parseInventoryCsv(`${HEADER}\nx,other,wiki,a@acme.test,,exec,"{""key"":""${secret}""}",,,`));
    expect(fromCsv).toMatchObject({ code: 'inventory_locator_secret' });
    expect(fromCsv.message).toContain('line 2');
    expect(checkLocator('{"role":"billing_svc","host":"db1.acme.internal","port":"5432"}', 'x')).toEqual({ role: 'billing_svc', host: 'db1.acme.internal', port: '5432' });
    expect(checkLocator('{"url":"postgres://db1.acme.internal:5432/billing","key":"SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s"}', 'x')).toHaveProperty('url');
    expect(refusal(() => checkLocator('["a"]', 'x')).code).toBe('inventory_invalid_input');
  });
});

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_inventory') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`credential inventory (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let inventory: CredentialInventory;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));
    const audit = () => createAuditLog({ db: store.db, clock });

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-inventory-'));
      store = await openStore({ url: await engine.url(dir) });
      inventory = new CredentialInventory(store, clock, cryptoRandom, audit());
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('writes nothing when a row is bad, and a re-import of the same file changes nothing', async () => {
      expect(() => parseInventoryCsv(`${GOOD}\nbad,other,wiki,nobody,,,,,,`)).toThrow(expect.objectContaining({ code: 'inventory_import_invalid' }) as Error);
      expect(await inventory.list()).toEqual([]);
      expect(await inventory.importRows(parseInventoryCsv(GOOD), 'admin@acme.test', 'a.csv')).toEqual({ added: 2, updated: 0, unchanged: 0 });
      expect(await inventory.importRows(parseInventoryCsv(GOOD), 'admin@acme.test', 'a.csv')).toEqual({ added: 0, updated: 0, unchanged: 2 });
      const bot = await inventory.show('gh-deploy-bot');
      expect(bot).toMatchObject({ kind: 'api_token', owner: 'dev@acme.test', locator: { path: '/etc/gh/bot' }, lastUsedAt: Date.UTC(2023, 10, 14, 8), lastUsedEvidence: 'GitHub audit log, "push" event', believedUnused: false });
      const edited = GOOD.replace('dba@acme.test', 'dba-team@acme.test');
      expect(await inventory.importRows(parseInventoryCsv(edited), 'admin@acme.test', 'b.csv')).toEqual({ added: 0, updated: 1, unchanged: 1 });
    });

    it('adds, edits and retires by hand, with each change audited; a duplicate name and a secret-looking locator are refused', async () => {
      await inventory.add({ name: 'wiki-bot', kind: 'service_account', system: 'wiki', owner: 'Wiki@Acme.test' }, 'admin@acme.test');
      await expect(inventory.add({ name: 'wiki-bot', kind: 'other', system: 'wiki', owner: 'a@acme.test' }, 'x')).rejects.toMatchObject({ code: 'inventory_name_taken' });
      await expect(inventory.edit('wiki-bot', { locator: '{"url":"https://bot:s3cretpass@wiki.acme.test"}' }, 'x')).rejects.toMatchObject({ code: 'inventory_locator_secret' });
      await expect(inventory.edit('nobody', { scope: 'x' }, 'x')).rejects.toMatchObject({ code: 'inventory_not_found' });
      expect(await inventory.edit('wiki-bot', { believed_unused: 'true', scope: 'space admin' }, 'alice@acme.test')).toMatchObject({ owner: 'wiki@acme.test', believedUnused: true, scope: 'space admin', updatedBy: 'alice@acme.test' });
      await inventory.retire('wiki-bot', 'alice@acme.test', 'account deleted');
      expect((await inventory.list()).map((i) => i.name)).not.toContain('wiki-bot');
      expect((await inventory.list({ includeRetired: true })).find((i) => i.name === 'wiki-bot')?.status).toBe('retired');
      const events = await store.db.selectFrom('audit_events').select(['type', 'actor']).where('type', 'like', 'inventory.%').execute();
      expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['inventory.imported', 'inventory.added', 'inventory.edited', 'inventory.retired']));
    });

    it('lists Gatehouse’s own credentials live: service tokens, signing keys, the KEK id and DoH tokens (count per owner)', async () => {
      const tokens = createServiceTokens({ store, clock, random: cryptoRandom, audit: audit(), settings: { defaultTtlMs: 86_400_000, maxTtlMs: 86_400_000 * 30, maxOverlapMs: 3_600_000, flushMs: 60_000, maxPending: 10 } });
      await tokens.create({ name: 'ci', owner: 'ci@acme.test', description: '', tags: [], apps: ['payroll'], actor: 'a' });
      await store.db.insertInto('users').values({ id: 'u1', email: 'ann@acme.test', name: 'Ann', status: 'active', reenroll_required: 0, created_at: 1, updated_at: 1 }).execute();
      await store.db.insertInto('doh_tokens').values([{ token_hash: 'h1', user_id: 'u1', created_at: 5 }, { token_hash: 'h2', user_id: 'u1', created_at: 7 }]).execute();
      await store.db.insertInto('signing_keys').values({ kid: 'k1', alg: 'ES256', private_jwk: 'sealed', public_jwk: '{}', created_at: 3, activates_at: 4, retires_at: null }).execute();
      // An SSH CA in force, one retired for good (not listed), and a live and a revoked CLI credential.
      const caKey = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGNc8GAXyDkHyyEKgpWAMlB8jI8bNV+1tMBHNsPwCBBH gatehouse-ca-a';
      await store.db.insertInto('ssh_certificate_authorities').values([
        { id: 'ca-a', algorithm: 'ssh-ed25519', public_key: caKey, private_key: 'gh-sealed.v1.x', created_at: 10, created_by: 'cli', retires_at: null },
        { id: 'ca-old', algorithm: 'ssh-ed25519', public_key: caKey, private_key: 'gh-sealed.v1.y', created_at: 1, created_by: 'cli', retires_at: 2 },
      ]).execute();
      const later = clock.now() + 3_600_000;
      await store.db.insertInto('cli_credentials').values([
        { id_hash: 'c1', session_hash: 's1', user_id: 'u1', code_hash: 'k1', created_at: 1, expires_at: later, revoked_at: null },
        { id_hash: 'c2', session_hash: 's1', user_id: 'u1', code_hash: 'k2', created_at: 1, expires_at: later, revoked_at: 5 },
      ]).execute();
      const own = await listOwnCredentials({ store, tokens, sealer: { available: true, source: 'test', primaryKeyId: () => 'kek-2026' }, operator: 'ops@acme.test', clock });
      expect(own.filter((c) => c.source === 'ssh_ca_key')).toEqual([expect.objectContaining({ name: 'ssh-ca:ca-a', status: 'active', detail: expect.stringMatching(/^ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}$/) as string })]);
      expect(own.filter((c) => c.source === 'cli_credentials')).toEqual([expect.objectContaining({ owner: 'ann@acme.test', detail: expect.stringContaining('1 command-line credential(s)') as string })]);
      expect(own).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ source: 'service_token', name: 'ci', owner: 'ci@acme.test' }),
          expect.objectContaining({ source: 'jwt_signing_key', name: 'jwt-signing-key:k1', status: 'active' }),
          expect.objectContaining({ source: 'key_encryption_key', detail: expect.stringContaining('kek-2026') as string }),
          expect.objectContaining({ source: 'doh_tokens', owner: 'ann@acme.test', detail: '2 personal DoH URL token(s)' }),
        ]),
      );
      expect(JSON.stringify(own)).not.toContain('sealed');
    });
  });
}
