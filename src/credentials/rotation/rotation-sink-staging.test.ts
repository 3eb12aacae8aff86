import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { rotatorsSchema } from '../../config/index.js';
import { rotationSinkFromConfig } from './rotation-sink.js';
import type { RotationContext, RotationTarget } from './rotator.js';
import { rotatorsFromConfig } from './rotators-from-config.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-sink-staging-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const target: RotationTarget = { itemId: '7c1e-item', name: 'billing-db', rotator: 'pg-main', locator: { role: 'billing_svc' } };
const STAGED = Buffer.from('staged-S3cret-with-final-newline\n');

describe('directory sink staging', () => {
  const sink = rotationSinkFromConfig({ type: 'directory', path: 'secrets', file_name: '{name}.secret' }, dir);
  const staging = sink.staging!;
  const pending = join(dir, 'secrets', 'billing-db.secret.pending');

  it('stages beside the delivered file, 0600, byte for byte; replaces, reads back and discards', async () => {
    expect(await staging.staged(target)).toBeUndefined();
    await staging.stage(target, Buffer.from('first'));
    await staging.stage(target, STAGED);
    expect(statSync(pending).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'secrets')).mode & 0o777).toBe(0o700);
    // Unlike the delivered file, nothing is stripped: the staged bytes are what the target now holds.
    expect(await staging.staged(target)).toEqual(STAGED);
    expect(readdirSync(join(dir, 'secrets'))).toEqual(['billing-db.secret.pending']);
    expect(await sink.previous(target)).toBeUndefined();
    await staging.discard(target);
    await staging.discard(target);
    expect(existsSync(pending)).toBe(false);
  });

  it('never writes or reads through a symlink planted at the credential file or its staged copy', async () => {
    const linked = rotationSinkFromConfig({ type: 'directory', path: 'linked', file_name: '{name}.secret' }, dir);
    mkdirSync(join(dir, 'linked'), { mode: 0o700 });
    const victim = join(dir, 'victim-file');
    writeFileSync(victim, 'not a secret of this sink\n', { mode: 0o644 });
    symlinkSync(victim, join(dir, 'linked', 'billing-db.secret'));
    symlinkSync(victim, join(dir, 'linked', 'billing-db.secret.pending'));
    const refusal = await linked.deliver(target, STAGED).catch((error: Error) => error);
    expect(refusal).toMatchObject({ code: 'rotation_sink_failed' });
    expect((refusal as Error).message).toContain('(secret_target_not_a_file)');
    expect(await codeOf(linked.staging!.stage(target, STAGED))).toBe('rotation_staging_failed');
    // Read as the old secret for the probe, the victim's contents would go to the target system.
    expect((await linked.previous(target).catch((error: Error) => error) as Error).message).toContain('(ELOOP)');
    expect((await linked.staging!.staged(target).catch((error: Error) => error) as Error).message).toContain('(ELOOP)');
    expect(readFileSync(victim, 'utf8')).toBe('not a secret of this sink\n');
    expect(lstatSync(join(dir, 'linked', 'billing-db.secret')).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(dir, 'linked')).sort()).toEqual(['billing-db.secret', 'billing-db.secret.pending']);
  });

  it('refuses a credential file name that would be another item\'s staged secret', async () => {
    const bare = rotationSinkFromConfig({ type: 'directory', path: 'bare', file_name: '{name}' }, dir);
    const clash = { ...target, name: 'billing-db.pending' };
    expect(await codeOf(bare.deliver(clash, Buffer.from('x')))).toBe('rotation_sink_failed');
    expect(await codeOf(bare.previous(clash))).toBe('rotation_sink_failed');
    expect(await codeOf(bare.staging!.stage(clash, Buffer.from('x')))).toBe('rotation_sink_failed');
  });

  it('a staging failure is rotation_staging_failed and names the path, not the secret; no temporary file is left', async () => {
    const blocked = join(dir, 'blocked');
    // A directory where the staged file should go: the rename fails, even for root.
    mkdirSync(join(blocked, 'billing-db.secret.pending'), { recursive: true });
    const sinkIn = rotationSinkFromConfig({ type: 'directory', path: blocked, file_name: '{name}.secret' }, dir);
    const error = (await sinkIn.staging!.stage(target, STAGED).catch((caught: unknown) => caught)) as Error & { code?: string; detail?: string };
    expect(error.code).toBe('rotation_staging_failed');
    expect(String(error.detail)).toContain(join(blocked, 'billing-db.secret.pending'));
    expect(`${error.message} ${String(error.detail)}`).not.toContain(STAGED.toString().trim());
    expect(readdirSync(blocked)).toEqual(['billing-db.secret.pending']);
    expect(await codeOf(sinkIn.staging!.staged(target))).toBe('rotation_staging_failed');
  });
});

describe('exec sink staging', () => {
  const deliver = join(dir, 'deliver.sh');
  writeFileSync(deliver, '#!/bin/sh\ncat >/dev/null\n', { mode: 0o755 });

  it('has none without staging_dir; with it, stages in Gatehouse\'s folder under a hash of the item id', async () => {
    expect(rotationSinkFromConfig({ type: 'exec', deliver: { argv: [deliver], timeout_ms: 10_000 } }, dir).staging).toBeUndefined();
    const sink = rotationSinkFromConfig({ type: 'exec', deliver: { argv: [deliver], timeout_ms: 10_000 }, staging_dir: 'stage' }, dir);
    // Ids that a character-for-character rewrite would merge ('a/b' and 'a_b') must not share a file.
    await sink.staging!.stage({ ...target, itemId: 'a/b' }, Buffer.from('one'));
    await sink.staging!.stage({ ...target, itemId: 'a_b' }, Buffer.from('two'));
    const fileOf = (id: string) => join(dir, 'stage', `${createHash('sha256').update(id).digest('hex')}.pending`);
    expect(readFileSync(fileOf('a/b'), 'utf8')).toBe('one');
    expect(readFileSync(fileOf('a_b'), 'utf8')).toBe('two');
    expect(statSync(fileOf('a/b')).mode & 0o777).toBe(0o600);
    expect((await sink.staging!.staged({ ...target, itemId: 'a/b' }))?.toString()).toBe('one');
  });

  it('a built-in rotator refuses an exec sink without staging_dir before touching the target', async () => {
    const previous = join(dir, 'previous.sh');
    writeFileSync(previous, '#!/bin/sh\necho old-password\n', { mode: 0o755 });
    const sink = { type: 'exec', deliver: { argv: [deliver] }, read_previous: { argv: [previous] } };
    const rotators = await rotatorsFromConfig({
      baseDir: dir,
      rotators: rotatorsSchema.parse({ 'pg-main': { type: 'postgres-role', admin_url: 'postgres://rotator@127.0.0.1:1/postgres', sink } }),
    });
    const context: RotationContext = { now: () => 0, deliverSecret: async () => 'unused' };
    const error = (await rotators.get('pg-main')!.rotate(target, context).catch((caught: unknown) => caught)) as Error & { code?: string; detail?: string };
    expect(error.code).toBe('rotation_staging_unavailable');
    expect(String(error.detail)).toMatch(/staging_dir/);
    expect(rotatorsSchema.parse({ 'pg-main': { type: 'postgres-role', admin_url: 'postgres://r@h/p', sink: { ...sink, staging_dir: '/var/lib/gatehouse/staging' } } })['pg-main']).toBeDefined();
  });
});
