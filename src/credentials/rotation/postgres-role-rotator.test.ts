import pg from 'pg';
import { postgresLogin as loginAnswer } from './test-support/private-postgres.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { havePostgres, POSTGRES_TEST_URL } from '../../../test/peers.js';
import { cryptoRandom, randomToken } from '../../lib/random.js';
import { createPostgresRoleRotator } from './postgres-role-rotator.js';
import { scramSha256Verifier } from './scram-sha256-verifier.js';
import type { RotationContext, RotationTarget } from './rotator.js';
import { memoryStaging } from './test-support/memory-staging.js';
import { startPrivatePostgres, type PrivatePostgres } from './test-support/private-postgres.js';

const postgres = await havePostgres();

/** A campaign context that remembers what it was handed, and every message it saw. */
function contextWith(previous: string | undefined) {
  const delivered: Buffer[] = [];
  const context: RotationContext = {
    now: () => 1_700_000_000_000,
    deliverSecret: async (target, secret) => {
      delivered.push(Buffer.from(secret));
      return `memory:${target.itemId}`;
    },
    previousSecret: async () => (previous === undefined ? undefined : Buffer.from(previous)),
    staging: memoryStaging(),
  };
  return { context, delivered };
}

async function sql(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}


/** Fails when any secret appears in any message the rotation produced. */
function expectNoSecretIn(texts: string[], secrets: string[]): void {
  for (const text of texts) for (const secret of secrets) expect(text.includes(secret), `secret leaked into: ${text.slice(0, 80)}`).toBe(false);
}

function messagesOf(error: unknown): string[] {
  const out: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    out.push(current.message, String((current as { detail?: unknown }).detail ?? ''), current.stack ?? '');
    current = current.cause;
  }
  return out;
}

describe.runIf(postgres)('postgres-role rotator on the shared server (trust authentication)', () => {
  const role = `gh_rot_trust_${randomToken(cryptoRandom, 6).replace(/[^a-z0-9]/gi, 'x').toLowerCase()}`;
  const oldPassword = randomToken(cryptoRandom, 24);
  const target: RotationTarget = { itemId: 'item-trust', rotator: 'postgres-role', locator: { role } };

  beforeAll(async () => {
    await sql(POSTGRES_TEST_URL, `CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(oldPassword)}`);
  });
  afterAll(async () => {
    await sql(POSTGRES_TEST_URL, `DROP ROLE IF EXISTS ${pg.escapeIdentifier(role)}`);
  });

  it('refuses to rotate where a wrong password logs in, and changes nothing', async () => {
    const before = await sql(POSTGRES_TEST_URL, `SELECT rolpassword FROM pg_authid WHERE rolname = ${pg.escapeLiteral(role)}`);
    const rotator = createPostgresRoleRotator({ adminUrl: POSTGRES_TEST_URL });
    const { context, delivered } = contextWith(oldPassword);
    expect(await codeOf(rotator.rotate(target, context))).toBe('rotation_probe_inconclusive');
    expect(delivered).toHaveLength(0);
    const after = await sql(POSTGRES_TEST_URL, `SELECT rolpassword FROM pg_authid WHERE rolname = ${pg.escapeLiteral(role)}`);
    expect(after.rows[0]).toEqual(before.rows[0]);
  });

  it('still revokes with evidence: NOLOGIN is refused (28000) even under trust', async () => {
    const rotator = createPostgresRoleRotator({ adminUrl: POSTGRES_TEST_URL });
    const { context } = contextWith(oldPassword);
    const outcome = await rotator.revoke(target, context);
    expect(outcome.deliveredTo).toBe('none');
    expect(outcome.evidence.kind).toBe('revocation_probed');
    expect(outcome.evidence.detail.answer).toMatch(/^28000 /);
    expect(outcome.evidence.detail.presented).toBe('previous_secret');
  });

  it('computes the same SCRAM-SHA-256 verifier as PostgreSQL', async () => {
    const probe = `${role}_scram`;
    await sql(POSTGRES_TEST_URL, `SET password_encryption = 'scram-sha-256'; CREATE ROLE ${pg.escapeIdentifier(probe)} PASSWORD 'correct horse'`);
    try {
      const stored = String((await sql(POSTGRES_TEST_URL, `SELECT rolpassword FROM pg_authid WHERE rolname = ${pg.escapeLiteral(probe)}`)).rows[0].rolpassword);
      const [, params] = stored.split('$') as [string, string];
      const [iterations, salt] = params.split(':') as [string, string];
      expect(scramSha256Verifier(Buffer.from('correct horse'), Buffer.from(salt, 'base64'), Number(iterations))).toBe(stored);
    } finally {
      await sql(POSTGRES_TEST_URL, `DROP ROLE IF EXISTS ${pg.escapeIdentifier(probe)}`);
    }
  });

  it('names a missing role with its code', async () => {
    const rotator = createPostgresRoleRotator({ adminUrl: POSTGRES_TEST_URL });
    const missing: RotationTarget = { ...target, locator: { role: `${role}_missing` } };
    expect(await codeOf(rotator.revoke(missing, contextWith(undefined).context))).toBe('rotation_target_not_found');
  });
});

describe('postgres-role rotator input checks', () => {
  const rotator = createPostgresRoleRotator({ adminUrl: 'postgres://admin:pw@127.0.0.1:1/db', connectTimeoutMs: 500 });

  it('validates the locator', () => {
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc' } })).toBeUndefined();
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: {} })).toMatch(/role is required/);
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: { role: 'x'.repeat(64) } })).toMatch(/63 bytes/);
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc', url: 'postgres://svc:secret@h/db' } })).toMatch(/no user or password/);
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc', url: 'https://h/db' } })).toMatch(/postgres:\/\//);
    expect(rotator.validate({ itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc', host: 'h' } })).toMatch(/unknown keys: host/);
  });

  it('refuses an invalid locator with its code', async () => {
    expect(await codeOf(rotator.rotate({ itemId: 'a', rotator: 'postgres-role', locator: {} }, contextWith('x').context))).toBe(
      'rotation_invalid_locator',
    );
  });

  it('refuses to rotate without the previous secret (no probe possible)', async () => {
    const target: RotationTarget = { itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc' } };
    expect(await codeOf(rotator.rotate(target, contextWith(undefined).context))).toBe('rotation_probe_impossible');
    const withoutReader: RotationContext = { now: () => 0, deliverSecret: async () => 'x' };
    expect(await codeOf(rotator.rotate(target, withoutReader))).toBe('rotation_probe_impossible');
  });

  it('does not count a connection error as evidence', async () => {
    const target: RotationTarget = { itemId: 'a', rotator: 'postgres-role', locator: { role: 'svc', url: 'postgres://127.0.0.1:1/db' } };
    const { context, delivered } = contextWith('old-secret-value');
    const error = await rotator.rotate(target, context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_probe_failed');
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect(delivered).toHaveLength(0);
    expectNoSecretIn(messagesOf(error), ['old-secret-value', 'pw']);
  });
});

let cluster: PrivatePostgres | undefined;
if (postgres) {
  const started = await startPrivatePostgres();
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: a password-checking PostgreSQL (${started})`);
    process.stderr.write(`\n[SKIPPED] postgres-role rotation against a password-checking server: ${started}\n`);
  } else cluster = started;
}

describe.runIf(cluster !== undefined)('postgres-role rotator on a password-checking server (scram-sha-256)', () => {
  const server = cluster as PrivatePostgres;
  afterAll(async () => {
    await server.stop();
  });

  async function makeRole(name: string, password: string): Promise<void> {
    await sql(server.adminUrl, `CREATE ROLE ${pg.escapeIdentifier(name)} LOGIN PASSWORD ${pg.escapeLiteral(password)}`);
  }

  it('rotates, delivers, and shows the old password refused with 28P01 while the new one logs in', async () => {
    const oldPassword = randomToken(cryptoRandom, 24);
    await makeRole('billing_svc', oldPassword);
    const rotator = createPostgresRoleRotator({ adminUrl: server.adminUrl });
    const target: RotationTarget = { itemId: 'item-1', rotator: 'postgres-role', locator: { role: 'billing_svc', url: server.probeUrl } };
    // A session opened with the old password before the rotation (perhaps the intruder's).
    const probeUrl = new URL(server.probeUrl);
    const lingering = new pg.Client({ host: probeUrl.hostname, port: Number(probeUrl.port), database: 'postgres', user: 'billing_svc', password: oldPassword });
    lingering.on('error', () => undefined);
    await lingering.connect();
    const { context, delivered } = contextWith(oldPassword);
    const logBefore = server.log().length;
    const outcome = await rotator.rotate(target, context);
    const logDuring = server.log().slice(logBefore);

    expect(outcome.deliveredTo).toBe('memory:item-1');
    expect(outcome.evidence.kind).toBe('old_credential_refused');
    expect(outcome.evidence.at).toBe(1_700_000_000_000);
    expect(outcome.evidence.detail.answer).toMatch(/^28P01 password authentication failed/);
    expect(outcome.evidence.detail.sessionsTerminated).toBe(1);
    expect(await lingering.query('SELECT 1').then(() => 'alive', (error: { code?: string }) => error.code ?? 'closed')).not.toBe('alive');
    await lingering.end().catch(() => undefined);
    expect(delivered).toHaveLength(1);
    const newPassword = (delivered[0] as Buffer).toString('utf8');
    expect(newPassword.length).toBeGreaterThanOrEqual(43);
    // Independently of the rotator: the real server says so too.
    expect(await loginAnswer(server.probeUrl, 'billing_svc', oldPassword)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'billing_svc', newPassword)).toBe('ok');
    // The server only ever saw a verifier: neither password is in its statement log, nor in the evidence.
    expect(logDuring).toMatch(/ALTER ROLE "billing_svc" PASSWORD 'SCRAM-SHA-256\$4096:/);
    expectNoSecretIn([logDuring, JSON.stringify(outcome)], [oldPassword, newPassword]);

    // Rotating again (a resumed campaign) rotates again, and the probe decides.
    const second = contextWith(newPassword);
    const again = await rotator.rotate(target, second.context);
    expect(again.evidence.kind).toBe('old_credential_refused');
    expect(await loginAnswer(server.probeUrl, 'billing_svc', newPassword)).toBe('28P01');
  });

  it('treats a hostile role name as a name', async () => {
    const weird = 'x"; DROP ROLE postgres; --';
    const oldPassword = randomToken(cryptoRandom, 24);
    await makeRole(weird, oldPassword);
    const rotator = createPostgresRoleRotator({ adminUrl: server.adminUrl });
    const target: RotationTarget = { itemId: 'item-2', rotator: 'postgres-role', locator: { role: weird, url: server.probeUrl } };
    const { context, delivered } = contextWith(oldPassword);
    const outcome = await rotator.rotate(target, context);
    expect(outcome.evidence.detail.role).toBe(weird);
    expect(await loginAnswer(server.probeUrl, weird, (delivered[0] as Buffer).toString('utf8'))).toBe('ok');
    const roles = await sql(server.adminUrl, `SELECT rolname FROM pg_roles WHERE rolname = 'postgres'`);
    expect(roles.rowCount).toBe(1);
  });

  it('refuses to rotate when the previous secret it holds is not the live one, and changes nothing', async () => {
    const live = randomToken(cryptoRandom, 24);
    await makeRole('orders_svc', live);
    const rotator = createPostgresRoleRotator({ adminUrl: server.adminUrl });
    const target: RotationTarget = { itemId: 'item-3', rotator: 'postgres-role', locator: { role: 'orders_svc', url: server.probeUrl } };
    const { context, delivered } = contextWith('not-the-real-one');
    const error = await rotator.rotate(target, context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_previous_secret_refused');
    expect(delivered).toHaveLength(0);
    expect(await loginAnswer(server.probeUrl, 'orders_svc', live)).toBe('ok');
    expectNoSecretIn(messagesOf(error), ['not-the-real-one', live]);
  });

  it('fails closed when the new password does not log in', async () => {
    await makeRole('expiring_svc', 'old-password-for-expiring');
    const rotator = createPostgresRoleRotator({ adminUrl: server.adminUrl });
    const target: RotationTarget = { itemId: 'item-4', rotator: 'postgres-role', locator: { role: 'expiring_svc', url: server.probeUrl } };
    const { context } = contextWith('old-password-for-expiring');
    // Someone expires the role between the change and the probe: the new password is refused too.
    context.deliverSecret = async () => {
      await sql(server.adminUrl, `ALTER ROLE expiring_svc VALID UNTIL '2000-01-01'`);
      return 'memory:item-4';
    };
    const error = await rotator.rotate(target, context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_new_credential_fails');
    expectNoSecretIn(messagesOf(error), ['old-password-for-expiring']);
  });

  it('revokes and probes the previous password', async () => {
    const oldPassword = randomToken(cryptoRandom, 24);
    await makeRole('legacy_svc', oldPassword);
    const rotator = createPostgresRoleRotator({ adminUrl: server.adminUrl });
    const target: RotationTarget = { itemId: 'item-5', rotator: 'postgres-role', locator: { role: 'legacy_svc', url: server.probeUrl } };
    const outcome = await rotator.revoke(target, contextWith(oldPassword).context);
    expect(outcome.evidence.kind).toBe('revocation_probed');
    expect(outcome.evidence.detail.answer).toMatch(/^28P01 /);
    expect(outcome.evidence.detail.catalog).toMatch(/rolcanlogin = false/);
    expect(await loginAnswer(server.probeUrl, 'legacy_svc', oldPassword)).toBe('28P01');
  });
});
