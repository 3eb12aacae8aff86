/**
 * A crash between ALTER ROLE and the delivery must not lose the only password that works: the new one
 * is staged (`<file>.pending`, 0600) before the change, and the next call delivers it. Real PostgreSQL
 * checking passwords, the real directory sink, faults injected through the sink interface.
 */
import { postgresLogin as loginAnswer } from './test-support/private-postgres.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { havePostgres } from '../../../test/peers.js';
import { codeOf } from '../../../test/support/error-code.js';
import { cryptoRandom, randomToken } from '../../lib/random.js';
import { createPostgresRoleRotator } from './postgres-role-rotator.js';
import type { RotationTarget } from './rotator.js';
import { faultyDirectorySink, messagesOf } from './test-support/faulty-directory-sink.js';
import { startPrivatePostgres, type PrivatePostgres } from './test-support/private-postgres.js';

let cluster: PrivatePostgres | undefined;
if (await havePostgres()) {
  const started = await startPrivatePostgres();
  if (typeof started === 'string') {
    if (process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`required test peer missing: a password-checking PostgreSQL (${started})`);
    process.stderr.write(`\n[SKIPPED] postgres-role crash recovery against a password-checking server: ${started}\n`);
  } else cluster = started;
} else process.stderr.write('\n[SKIPPED] postgres-role crash recovery: no PostgreSQL at the test URL\n');

describe.runIf(cluster !== undefined)('postgres-role rotator: a crash between the change and the delivery', () => {
  const server = cluster as PrivatePostgres;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-pg-crash-'));
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function sql(text: string): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: server.adminUrl });
    await client.connect();
    try {
      return await client.query(text);
    } finally {
      await client.end();
    }
  }


  /** A role whose live password is in the sink's file, as the owning service would read it. */
  async function roleInSink(role: string): Promise<{ target: RotationTarget; old: string; file: string }> {
    const old = randomToken(cryptoRandom, 24);
    await sql(`CREATE ROLE ${pg.escapeIdentifier(role)} LOGIN PASSWORD ${pg.escapeLiteral(old)}`);
    const target: RotationTarget = { itemId: `id-${role}`, name: role, rotator: 'postgres-role', locator: { role, url: server.probeUrl } };
    const file = join(dir, `${role}.secret`);
    writeFileSync(file, `${old}\n`, { mode: 0o600 });
    return { target, old, file };
  }

  const rotator = () => createPostgresRoleRotator({ adminUrl: server.adminUrl });

  it('recovers on the next call by delivering the staged password, without a third one', async () => {
    const { target, old, file } = await roleInSink('crash_svc');
    const crashing = faultyDirectorySink(dir, { failDelivery: true });
    const failure = await rotator().rotate(target, crashing.context).catch((caught: unknown) => caught);
    expect((failure as { code?: string }).code).toBe('rotation_sink_failed');

    // The state the crash left: the role changed, the service still holds the old password, and only
    // the staged copy (0600, beside the delivered file) knows the new one.
    const pending = crashing.pendingOf(target);
    expect(statSync(pending).mode & 0o777).toBe(0o600);
    const staged = readFileSync(pending, 'utf8');
    expect(readFileSync(file, 'utf8')).toBe(`${old}\n`);
    expect(await loginAnswer(server.probeUrl, 'crash_svc', old)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'crash_svc', staged)).toBe('ok');

    const logBefore = server.log().length;
    const outcome = await rotator().rotate(target, faultyDirectorySink(dir).context);
    const logDuring = server.log().slice(logBefore);
    expect(outcome.evidence).toMatchObject({ kind: 'old_credential_refused', detail: { recoveredStagedSecret: true, newCredential: 'accepted' } });
    expect(outcome.evidence.detail.answer).toMatch(/^28P01 /);
    expect(logDuring).not.toMatch(/ALTER ROLE/);
    expect(readFileSync(file, 'utf8')).toBe(staged);
    expect(existsSync(pending)).toBe(false);
    expect(await loginAnswer(server.probeUrl, 'crash_svc', staged)).toBe('ok');
    expect(await loginAnswer(server.probeUrl, 'crash_svc', old)).toBe('28P01');
    for (const text of [messagesOf(failure), JSON.stringify(outcome), logDuring]) {
      expect(text).not.toContain(old);
      expect(text).not.toContain(staged);
    }

    // The recovered password is a normal previous one: the next rotation starts from it.
    const next = await rotator().rotate(target, faultyDirectorySink(dir).context);
    expect(next.evidence.detail.recoveredStagedSecret).toBeUndefined();
    expect(await loginAnswer(server.probeUrl, 'crash_svc', staged)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'crash_svc', readFileSync(file, 'utf8'))).toBe('ok');
  });

  it('discards a password staged by an attempt that died before the change, and rotates afresh', async () => {
    const { target, old, file } = await roleInSink('stale_svc');
    const crashing = faultyDirectorySink(dir, { crashAfterStage: true });
    expect(await codeOf(rotator().rotate(target, crashing.context))).toBe('rotation_staging_failed');
    const stale = readFileSync(crashing.pendingOf(target), 'utf8');
    expect(await loginAnswer(server.probeUrl, 'stale_svc', old)).toBe('ok');

    const outcome = await rotator().rotate(target, faultyDirectorySink(dir).context);
    expect(outcome.evidence.detail).toMatchObject({ staleStagedSecretDiscarded: true, newCredential: 'accepted' });
    const delivered = readFileSync(file, 'utf8');
    expect(delivered).not.toBe(stale);
    expect(existsSync(crashing.pendingOf(target))).toBe(false);
    expect(await loginAnswer(server.probeUrl, 'stale_svc', delivered)).toBe('ok');
    expect(await loginAnswer(server.probeUrl, 'stale_svc', stale)).toBe('28P01');
    expect(await loginAnswer(server.probeUrl, 'stale_svc', old)).toBe('28P01');
  });

  it('stops, naming both refusals, when neither the previous nor the staged password logs in', async () => {
    const { target, old } = await roleInSink('reset_svc');
    const crashing = faultyDirectorySink(dir, { failDelivery: true });
    await rotator().rotate(target, crashing.context).catch(() => undefined);
    const staged = readFileSync(crashing.pendingOf(target), 'utf8');
    // Someone resets the password by hand to a third value the campaign never saw.
    const elsewhere = randomToken(cryptoRandom, 24);
    await sql(`ALTER ROLE reset_svc PASSWORD ${pg.escapeLiteral(elsewhere)}`);

    const error = await rotator().rotate(target, faultyDirectorySink(dir).context).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe('rotation_previous_and_staged_secret_refused');
    expect(messagesOf(error)).toMatch(/neither the previous secret \(28P01 .*\) nor the one staged .* \(28P01 /);
    for (const secret of [old, staged, elsewhere]) expect(messagesOf(error)).not.toContain(secret);
    expect(readFileSync(crashing.pendingOf(target), 'utf8')).toBe(staged);
    expect(await loginAnswer(server.probeUrl, 'reset_svc', elsewhere)).toBe('ok');
  });

  it('refuses to change a role when the sink cannot stage, and changes nothing', async () => {
    const { target, old } = await roleInSink('nostage_svc');
    const { staging: _dropped, ...unstaged } = faultyDirectorySink(dir).context;
    expect(await codeOf(rotator().rotate(target, unstaged))).toBe('rotation_staging_unavailable');
    expect(await loginAnswer(server.probeUrl, 'nostage_svc', old)).toBe('ok');
  });
});
