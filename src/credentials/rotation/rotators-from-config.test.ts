import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../../test/support/error-code.js';
import { rotatorsSchema } from '../../config/index.js';
import { rotationSinkFromConfig } from './rotation-sink.js';
import type { RotationContext, RotationTarget } from './rotator.js';
import { rotatorsFromConfig } from './rotators-from-config.js';

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-rotators-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECRET = 'n3w-S3cret-value-only-on-stdin';
const target: RotationTarget = { itemId: '7c1e-item', name: 'billing-db', rotator: 'pg-main', locator: { role: 'billing_svc' } };

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const context: RotationContext = {
  now: () => 1_700_000_000_000,
  deliverSecret: async () => {
    throw new Error('the campaign sink must not be used by a rotator with its own sink');
  },
};

describe('directory sink', () => {
  const secrets = join(dir, 'secrets');
  const sink = rotationSinkFromConfig({ type: 'directory', path: 'secrets', file_name: '{name}.secret' }, dir);

  it('writes a 0600 file named after the item, replacing the previous one, which it reads back for the probe', async () => {
    expect(await sink.previous(target)).toBeUndefined();
    writeFileSync(join(dir, 'placeholder'), '');
    expect(await sink.deliver(target, Buffer.from('first'))).toBe(`file:${join(secrets, 'billing-db.secret')}`);
    expect(statSync(secrets).mode & 0o777).toBe(0o700);
    writeFileSync(join(secrets, 'billing-db.secret'), 'in-use-by-hand\r\n', { mode: 0o644 });
    expect((await sink.previous(target))?.toString()).toBe('in-use-by-hand');
    await sink.deliver(target, Buffer.from(SECRET));
    expect(readFileSync(join(secrets, 'billing-db.secret'), 'utf8')).toBe(SECRET);
    expect(statSync(join(secrets, 'billing-db.secret')).mode & 0o777).toBe(0o600);
    expect(readdirSync(secrets)).toEqual(['billing-db.secret']);
  });

  it('refuses an item name that is not a plain file name rather than rewriting it', async () => {
    expect(await codeOf(sink.deliver({ ...target, name: '../etc/passwd' }, Buffer.from('x')))).toBe('rotation_sink_failed');
    expect(await codeOf(sink.deliver({ ...target, name: '.hidden' }, Buffer.from('x')))).toBe('rotation_sink_failed');
    const byId = rotationSinkFromConfig({ type: 'directory', path: secrets, file_name: 'svc-{item}.key' }, '/elsewhere');
    expect(await byId.deliver({ ...target, name: '../x' }, Buffer.from('x'))).toBe(`file:${join(secrets, 'svc-7c1e-item.key')}`);
  });
});

describe('exec sink', () => {
  it('hands the secret on stdin only, with the target in the environment; reads the previous one from a command', async () => {
    const deliver = script('deliver.sh', `cat > "${dir}/stdin.txt"; env > "${dir}/env.txt"; echo "$0 $*" > "${dir}/argv.txt"; echo "vault:kv/billing"`);
    const previous = script('previous.sh', `echo "old-$GATEHOUSE_ROTATION_NAME"`);
    const sink = rotationSinkFromConfig({ type: 'exec', deliver: { argv: [deliver, 'kv/billing'], timeout_ms: 10_000 }, read_previous: { argv: [previous], timeout_ms: 10_000 } }, dir);
    expect(await sink.deliver(target, Buffer.from(SECRET))).toBe('vault:kv/billing');
    expect(readFileSync(join(dir, 'stdin.txt'), 'utf8')).toBe(SECRET);
    const env = readFileSync(join(dir, 'env.txt'), 'utf8');
    expect(env).toContain('GATEHOUSE_ROTATION_NAME=billing-db');
    expect(env).toContain('GATEHOUSE_ROTATION_LOCATOR={"role":"billing_svc"}');
    expect(env).not.toContain(SECRET);
    expect(readFileSync(join(dir, 'argv.txt'), 'utf8')).not.toContain(SECRET);
    expect((await sink.previous(target))?.toString()).toBe('old-billing-db');
  });

  it('a failing command is rotation_sink_failed, and its stderr is not repeated', async () => {
    const failing = script('fail.sh', `echo "${SECRET}" >&2; exit 3`);
    const sink = rotationSinkFromConfig({ type: 'exec', deliver: { argv: [failing], timeout_ms: 10_000 } }, dir);
    const error = (await sink.deliver(target, Buffer.from(SECRET)).catch((caught: unknown) => caught)) as Error & { detail?: string };
    expect((error as { code?: string }).code).toBe('rotation_sink_failed');
    expect(`${error.message} ${String(error.detail)}`).not.toContain(SECRET);
    expect(await sink.previous(target)).toBeUndefined();
  });
});

describe('rotatorsFromConfig', () => {
  it('builds each configured rotator under its configured name', async () => {
    writeFileSync(join(dir, 'pg.password'), 'admin-pw\n', { mode: 0o600 });
    const rotators = await rotatorsFromConfig({
      baseDir: dir,
      rotators: rotatorsSchema.parse({
        'pg-main': { type: 'postgres-role', admin_url: 'postgres://rotator@127.0.0.1:1/postgres', admin_password_file: 'pg.password', sink: { type: 'directory', path: 'pg' } },
        bastion: { type: 'ssh-authorized-key', identity_file: 'admin_key', known_hosts_file: 'known_hosts', sink: { type: 'directory', path: 'keys' } },
        wiki: { type: 'exec', commands: { 'wiki-api': { argv: [script('wiki.sh', `echo '{"deliveredTo":"wiki","probe":{"refused":true,"detail":"401"}}'`)] } } },
      }),
    });
    expect([...rotators.keys()]).toEqual(['pg-main', 'bastion', 'wiki']);
    expect(rotators.get('pg-main')?.name).toBe('pg-main');
    expect(rotators.get('pg-main')?.validate(target)).toBeUndefined();
    expect(rotators.get('bastion')?.validate({ ...target, locator: { host: 'h', user: 'deploy' } })).toBeUndefined();
    expect(rotators.get('wiki')?.validate({ ...target, locator: { command: 'other' } })).toMatch(/not a configured rotation command/);
    const outcome = await rotators.get('wiki')!.rotate({ ...target, locator: { command: 'wiki-api' } }, context);
    expect(outcome.evidence.kind).toBe('old_credential_refused');
  });

  it('the postgres-role rotator takes the old password from its own sink: none there, no probe, nothing changed', async () => {
    const rotators = await rotatorsFromConfig({
      baseDir: dir,
      rotators: rotatorsSchema.parse({ 'pg-main': { type: 'postgres-role', admin_url: 'postgres://rotator@127.0.0.1:1/postgres', sink: { type: 'directory', path: 'empty-sink' } } }),
    });
    expect(await codeOf(rotators.get('pg-main')!.rotate(target, context))).toBe('rotation_probe_impossible');
  });

  it('an unreadable password file names its config path, never a value', async () => {
    const error = (await rotatorsFromConfig({
      baseDir: dir,
      rotators: rotatorsSchema.parse({ 'pg-main': { type: 'postgres-role', admin_url: 'postgres://rotator@db/postgres', admin_password_file: 'missing.password', sink: { type: 'directory', path: 'pg' } } }),
    }).catch((caught: unknown) => caught)) as Error & { code?: string; detail?: string };
    expect(error.code).toBe('rotator_config_invalid');
    expect(error.detail).toBe(`rotators.pg-main.admin_password_file: cannot read ${join(dir, 'missing.password')} (ENOENT)`);
  });
});
