import { createPublicKey, sign, verify } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { canonicalJson } from './canonical-json.js';
import type { CheckpointKey } from './checkpoint-key.js';

/** A signed anchor: the last event retention deleted. Verification starts from it instead of genesis. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  /** When the last deleted event happened (ms). */
  at: number;
  createdAt: number;
  publicKey: string;
  signature: string;
}

// A context string in the signed bytes, so a checkpoint signature can never be replayed as any other
// message this key might one day sign (domain separation).
const CONTEXT = 'gatehouse.audit.checkpoint.v1';

function checkpointMessage(cp: Pick<AuditCheckpoint, 'seq' | 'hash' | 'at' | 'createdAt'>): Buffer {
  return Buffer.from(canonicalJson({ context: CONTEXT, seq: cp.seq, hash: cp.hash, at: cp.at, created_at: cp.createdAt }), 'utf8');
}

export function signCheckpoint(key: CheckpointKey, fields: Pick<AuditCheckpoint, 'seq' | 'hash' | 'at' | 'createdAt'>): AuditCheckpoint {
  // Ed25519 (RFC 8032) takes no separate digest: node's sign() wants null for the algorithm.
  const signature = sign(null, checkpointMessage(fields), key.privateKey).toString('base64url');
  return { ...fields, publicKey: key.publicKey, signature };
}

/** True only for a well-formed Ed25519 signature by `cp.publicKey` over exactly these fields. */
export function checkpointSignatureValid(cp: AuditCheckpoint): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(cp.publicKey, 'base64url'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, checkpointMessage(cp), key, Buffer.from(cp.signature, 'base64url'));
  } catch {
    return false;
  }
}

export async function listCheckpoints(db: Kysely<Database>): Promise<AuditCheckpoint[]> {
  const rows = await db.selectFrom('audit_checkpoints').selectAll().orderBy('seq').execute();
  return rows.map((row) => ({
    seq: Number(row.seq),
    hash: row.hash,
    at: Number(row.at),
    createdAt: Number(row.created_at),
    publicKey: row.public_key,
    signature: row.signature,
  }));
}
