import { createHash } from 'node:crypto';
import { canonicalJsonOfParsed } from './canonical-json.js';

/** The `prev_hash` of the first event ever written (no checkpoint before it). */
export const GENESIS_HASH = '0'.repeat(64);

/** The stored fields an event's hash covers: everything but the hashes themselves. */
export interface ChainedEventFields {
  seq: number;
  at: number;
  type: string;
  outcome: string;
  code: string | null;
  user_id: string | null;
  actor: string | null;
  ip: string | null;
  /** The stored JSON text of the detail object. */
  detail: string;
}

/**
 * Canonical form, version 1: canonical JSON of the row with `detail` as a nested object. The detail
 * is hashed by meaning rather than by its stored bytes, so the hash survives an engine re-encoding
 * the text but not any change to a key or value.
 */
export function canonicalAuditEvent(row: ChainedEventFields): string {
  // Every field is a number, string, null or freshly parsed JSON, so no normalizing pass is needed.
  return canonicalJsonOfParsed({
    seq: row.seq,
    at: row.at,
    type: row.type,
    outcome: row.outcome,
    code: row.code,
    user_id: row.user_id,
    actor: row.actor,
    ip: row.ip,
    detail: parseDetail(row.detail),
  });
}

/**
 * hash = SHA-256(prev_hash as 32 raw bytes || UTF-8 canonical form), hex. Binding the previous hash
 * makes every event commit to the whole history before it: changing, deleting or reordering any
 * event changes every later hash.
 */
export function hashAuditEvent(prevHash: string, row: ChainedEventFields): string {
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(canonicalAuditEvent(row), 'utf8').digest('hex');
}

// A detail that is not valid JSON (edited by hand) is hashed as a JSON string: a real detail is always
// an object, so the two cannot collide, and the row fails verification instead of crashing it.
function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function isHexHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}
