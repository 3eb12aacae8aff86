import { createHash } from 'node:crypto';

/**
 * The audit event hash, version 1, frozen as migration 002 shipped it. A migration is a snapshot: if
 * it imported the live hash, changing the live code would silently change what this migration writes
 * into databases that have not run it yet, and their chains would no longer verify. The audit
 * capability's hash may move on; this copy may not (a test pins the two together while they agree).
 */

/** The `prev_hash` of the first event ever written. */
export const GENESIS_HASH_V1 = '0'.repeat(64);

export interface AuditRowV1 {
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

/** SHA-256(prev hash as 32 raw bytes || canonical JSON of the row, detail as a parsed object), hex. */
export function hashAuditRowV1(prevHash: string, row: AuditRowV1): string {
  const canonical = canonicalJsonV1({
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
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(canonical, 'utf8').digest('hex');
}

// A detail that is not valid JSON is hashed as a JSON string (a real detail is always an object).
function parseDetail(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

// RFC 8785 (JCS) manner: keys sorted by UTF-16 code units (§3.2.3), no whitespace, ECMAScript
// serialization of strings and numbers (§3.2.2.2, §3.2.2.3). Input is already JSON data.
function canonicalJsonV1(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJsonV1).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJsonV1(record[key])}`).join(',')}}`;
}
