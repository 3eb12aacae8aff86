import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { Database } from '../store/index.js';
import { readKeyEncryptionKeyFile, writeKeyEncryptionKeyFile } from './key-encryption-key-file.js';
import { generateKeyEncryptionKey, type KeyEncryptionKeys } from './key-encryption-keys.js';
import { listSealedValues, replaceSealedValue } from './sealed-values.js';
import { createSecretSealer, sealedKeyIdOf } from './secret-sealer.js';

/** The points between the steps of a rotation; tests inject a hook that throws there to play a crash. */
export type RotationStep = 'new-key-added' | 'resealing' | 'resealed' | 'old-keys-dropped';

export interface RotateKekResult {
  newKeyId: string;
  droppedKeyIds: string[];
  resealed: number;
}

const MAX_PASSES = 3;

/**
 * Rotates the key-encryption key in the key file. The invariant at every instant, whatever crashes
 * where: each sealed value is sealed under a key that is in the file.
 *
 * 1. Check that the file opens every sealed value (refuse `kek_mismatch` before changing anything).
 * 2. Write the file with the new key added and made primary (atomic rename). Running servers re-read
 *    the file before sealing, so from here on they seal under the new key.
 * 3. Re-seal every value under the new key, in one transaction.
 * 4. Check that nothing is left under an old key (a server may have sealed one between 2 and its
 *    re-read); re-seal again if so. Only then write the file without the old keys.
 *
 * A crash after 2 leaves both keys in the file: everything opens, and running the command again
 * finishes the job (with one more new key).
 */
export async function rotateKeyEncryptionKey(deps: {
  db: Kysely<Database>;
  path: string;
  random: Random;
  clock: Clock;
  audit: AuditLog;
  afterStep?: (step: RotationStep) => void | Promise<void>;
}): Promise<RotateKekResult> {
  const { db, path, random, clock, audit } = deps;
  const step = async (name: RotationStep) => deps.afterStep?.(name);
  const before = readKeyEncryptionKeyFile(path);
  const oldSealer = createSecretSealer({ keys: before, random, source: path });
  for (const item of await listSealedValues(db)) {
    try {
      oldSealer.unseal(item.value, item.context);
    } catch (error) {
      throw new GatehouseError('kek_mismatch', {
        status: 500,
        publicMessage: `Refusing to rotate: ${path} does not open the sealed value ${item.context} (${(error as GatehouseError).code ?? 'error'}). Start the server once with this key file (it seals plaintext values), or restore the right key file.`,
        cause: error,
      });
    }
  }

  const fresh = generateKeyEncryptionKey(random, clock.now());
  const both: KeyEncryptionKeys = { primary: fresh.id, keys: [...before.keys, fresh] };
  writeKeyEncryptionKeyFile(path, both);
  await step('new-key-added');

  const sealer = createSecretSealer({ keys: both, random, source: path });
  let resealed = 0;
  for (let pass = 0; ; pass++) {
    const stale = (await listSealedValues(db)).filter((item) => sealedKeyIdOf(item.value) !== fresh.id);
    if (stale.length === 0) break;
    if (pass >= MAX_PASSES) {
      throw new GatehouseError('kek_rotation_incomplete', {
        status: 500,
        publicMessage: `Values are still sealed under an old key after ${MAX_PASSES} passes; ${path} keeps both keys (everything opens). Run the command again.`,
      });
    }
    resealed += await db.transaction().execute(async (trx) => {
      let changed = 0;
      for (const item of stale) {
        changed += await replaceSealedValue(trx, item, sealer.seal(sealer.unseal(item.value, item.context), item.context));
        if (changed === 1) await step('resealing');
      }
      return changed;
    });
  }
  await step('resealed');

  writeKeyEncryptionKeyFile(path, { primary: fresh.id, keys: [fresh] });
  const droppedKeyIds = before.keys.map((key) => key.id);
  await audit.record({ type: 'secrets.kek_rotated', outcome: 'success', actor: 'cli', detail: { new_key_id: fresh.id, dropped_key_ids: droppedKeyIds, resealed } });
  await step('old-keys-dropped');
  return { newKeyId: fresh.id, droppedKeyIds, resealed };
}
