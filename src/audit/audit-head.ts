import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { readCheckpointKey } from './checkpoint-key.js';

export interface AuditHead {
  seq: number;
  hash: string;
  /** When the head event happened (ms); absent when retention deleted every event. */
  at?: number;
  /** Fingerprint of the key that signs checkpoints, once one exists: pin it with the head. */
  checkpointKey?: string;
}

/**
 * The newest seq and hash. Shipped to another system on a schedule (SIEM, ticket, object lock), it is
 * what turns internal consistency into evidence: a rebuilt chain cannot reproduce an exported hash.
 */
export async function readAuditHead(db: Kysely<Database>): Promise<AuditHead> {
  const head = await db.selectFrom('audit_head').select(['seq', 'hash']).where('id', '=', 1).executeTakeFirstOrThrow();
  const seq = Number(head.seq);
  const event = await db.selectFrom('audit_events').select('at').where('seq', '=', seq).executeTakeFirst();
  const key = await readCheckpointKey(db);
  return { seq, hash: head.hash, ...(event ? { at: Number(event.at) } : {}), ...(key ? { checkpointKey: key.fingerprint } : {}) };
}
