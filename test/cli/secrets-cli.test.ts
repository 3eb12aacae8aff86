/** `gatehouse init` writes a key-encryption key; `gatehouse secrets ...` creates, rotates and reports it. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/index.js';
import { openCore } from '../../src/core.js';
import { systemClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { createDatabaseSigningKeyStore, createSigningKeyRing } from '../../src/credentials/index.js';
import { readKeyEncryptionKeyFile } from '../../src/secrets/index.js';
import { runGatehouse } from '../support/cli.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-secrets-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('gatehouse init and secrets', () => {
  it('init writes a KEK file 0600 beside the config and never replaces it; the config uses it', async () => {
    const init = await runGatehouse(['init', '--dir', dir]);
    expect(init.code).toBe(0);
    const keyPath = join(dir, 'gatehouse.kek');
    expect(init.stdout).toContain(`wrote key-encryption key ${keyPath} (mode 0600)`);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const keyText = readFileSync(keyPath, 'utf8');
    expect(readFileSync(join(dir, 'gatehouse.yaml'), 'utf8')).toContain('key_encryption_key_file: gatehouse.kek');

    const again = await runGatehouse(['init', '--dir', dir, '--force']);
    expect(again.stdout).toContain(`kept key-encryption key ${keyPath}`);
    expect(readFileSync(keyPath, 'utf8')).toBe(keyText);

    // The demo configuration opens with it, and the first open seals under it.
    const core = await openCore(loadConfigFile(join(dir, 'gatehouse.yaml')), { clock: systemClock, random: cryptoRandom });
    expect(core.secrets.available).toBe(true);
    expect(core.secrets.primaryKeyId()).toBe(readKeyEncryptionKeyFile(keyPath).primary);
    await core.identity.legacy.enrollTotp((await core.identity.users.add({ email: 'totp@gatehouse.localhost' })).id);
    await core.close();
  });

  it('status, rotate-kek and init-kek; a key file others can read is refused with the fix', async () => {
    const config = join(dir, 'gatehouse.yaml');
    const keyPath = join(dir, 'gatehouse.kek');
    const before = readKeyEncryptionKeyFile(keyPath).primary;
    const status = JSON.parse((await runGatehouse(['secrets', 'status', '--json'], { config })).stdout) as { primaryKeyId: string; sealedValuesByKey: Record<string, number> };
    expect(status.primaryKeyId).toBe(before);
    expect(status.sealedValuesByKey[before]).toBeGreaterThanOrEqual(2); // the canary and the TOTP secret

    const rotated = await runGatehouse(['secrets', 'rotate-kek', '--json'], { config });
    expect(rotated.code).toBe(0);
    const result = JSON.parse(rotated.stdout) as { newKeyId: string; droppedKeyIds: string[]; resealed: number };
    expect(result.droppedKeyIds).toEqual([before]);
    expect(result.resealed).toBe(status.sealedValuesByKey[before]);
    expect(readKeyEncryptionKeyFile(keyPath).keys.map((key) => key.id)).toEqual([result.newKeyId]);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const after = JSON.parse((await runGatehouse(['secrets', 'status', '--json'], { config })).stdout) as { sealedValuesByKey: Record<string, number> };
    expect(Object.keys(after.sealedValuesByKey)).toEqual([result.newKeyId]);

    const exists = await runGatehouse(['secrets', 'init-kek'], { config });
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain('[kek_file_exists]');
    const fresh = await runGatehouse(['secrets', 'init-kek', '--file', join(dir, 'other.kek')]);
    expect(fresh.code).toBe(0);
    expect(statSync(join(dir, 'other.kek')).mode & 0o777).toBe(0o600);

    chmodSync(keyPath, 0o644);
    const open = await runGatehouse(['secrets', 'status'], { config });
    expect(open.code).toBe(1);
    expect(open.stderr).toContain('[kek_file_permissions]');
    expect(open.stderr).toContain(`chmod 600 ${keyPath}`);
    chmodSync(keyPath, 0o600);
  });

  it('a lost key file: the server refuses the new one (kek_mismatch) until forget-lost clears what it cannot open', async () => {
    const config = join(dir, 'gatehouse.yaml');
    const keyPath = join(dir, 'gatehouse.kek');
    const core = await openCore(loadConfigFile(config), { clock: systemClock, random: cryptoRandom });
    await createSigningKeyRing({ store: createDatabaseSigningKeyStore(core.store.db, core.secrets), clock: systemClock, random: cryptoRandom }).ensureKey();
    await core.close();

    unlinkSync(keyPath);
    expect((await runGatehouse(['secrets', 'init-kek'], { config })).code).toBe(0);
    const refused = await runGatehouse(['secrets', 'status'], { config });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('[kek_mismatch]');
    expect((await runGatehouse(['secrets', 'forget-lost'], { config })).code).toBe(2); // --yes is required

    const forgot = await runGatehouse(['secrets', 'forget-lost', '--yes', '--json'], { config });
    expect(forgot.code).toBe(0);
    expect(JSON.parse(forgot.stdout)).toMatchObject({ signingKeys: [expect.any(String)], totpUsers: [expect.any(String)], canary: true, serverSecret: true, checkpointKeyUnopenable: false });
    const reopened = await openCore(loadConfigFile(config), { clock: systemClock, random: cryptoRandom });
    const user = await reopened.identity.users.findByEmail('totp@gatehouse.localhost');
    expect(await reopened.identity.legacy.has(user!.id)).toEqual({ password: false, totp: false });
    expect(await reopened.store.db.selectFrom('signing_keys').select('kid').execute()).toEqual([]);
    await reopened.close();
  });
});
