/** The service layer (store, audit, identity) without listeners, for service and conformance tests. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, type ConfigSnapshot } from '../../src/config/index.js';
import { openCore, type GatehouseCore } from '../../src/core.js';
import { ManualClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import type { SecretSealer } from '../../src/secrets/index.js';
import { TEST_KEY_ENCRYPTION_KEY } from './test-kek.js';

export const RP_ID = 'acme.localhost';

/**
 * argon2id at a test cost (1 MiB, one pass): the flows around passwords are under test, not the hash,
 * and OWASP's cost made the throttle tests (hundreds of verifications) a fifth of the run.
 */
export const TEST_PASSWORD_HASHING = Object.freeze({ memoryCost: 1024, timeCost: 1, parallelism: 1 });
export const PORTAL_ORIGIN = 'https://sso.acme.localhost';

export function coreConfigYaml(databaseUrl: string, extra = ''): string {
  return `server:
  portal_host: sso.acme.localhost
  public_url: ${PORTAL_ORIGIN}
  http: { host: "127.0.0.1", port: 0 }
  key_encryption_key: ${TEST_KEY_ENCRYPTION_KEY}
database:
  url: ${databaseUrl}
webauthn:
  rp_id: ${RP_ID}
  origins: ["${PORTAL_ORIGIN}"]
${extra}`;
}

export interface CoreFixture {
  core: GatehouseCore;
  clock: ManualClock;
  close(): Promise<void>;
}

export async function openCoreFixture(
  options: { databaseUrl?: string; extraYaml?: string; clock?: ManualClock; sealer?: SecretSealer } = {},
): Promise<CoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-core-'));
  const url = options.databaseUrl ?? `sqlite:${join(dir, 'test.db')}`;
  const config = parseConfig(coreConfigYaml(url, options.extraYaml), 'test.yaml');
  const snapshot: ConfigSnapshot = { config, path: join(dir, 'test.yaml'), baseDir: dir, loadedAt: 0 };
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 10, 22, 9, 0, 0));
  const core = await openCore(snapshot, { clock, random: cryptoRandom, passwordHashing: TEST_PASSWORD_HASHING, ...(options.sealer ? { sealer: options.sealer } : {}) });
  return {
    core,
    clock,
    async close() {
      await core.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
