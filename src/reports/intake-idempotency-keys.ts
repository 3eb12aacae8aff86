import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/** What the webhook answers a report with; kept verbatim for a retry with the same key. */
export interface IntakeAnswer {
  report: string;
  group: string | null;
  harmless: boolean;
  escalated: boolean;
}

export type IntakeKeyClaim =
  /** This request holds the key: file the report, then `complete` (or `release` on failure). */
  | { kind: 'claimed' }
  /** The key's first request was filed: answer what it was answered. */
  | { kind: 'replay'; answer: IntakeAnswer }
  /** The key was used with another body. */
  | { kind: 'mismatch' }
  /** The key's first request is still running. */
  | { kind: 'in_progress' };

export interface IntakeKeyRef {
  tokenId: string;
  /** SHA-256 (hex) of the key: the key itself is never stored. */
  keyHash: string;
}

/**
 * The report webhook's idempotency keys (table `report_intake_keys`, migration 019). A claim is one
 * INSERT that the (token, key) primary key lets only one request win, never a read then a write: two
 * retries racing on two instances file one report. A key is scoped to its token (a key chosen by
 * another token's holder is another row) and lives `windowMs` from its first use.
 *
 * A first request that died between claim and answer (a crash) leaves a row with no answer: after
 * `abandonAfterMs` a retry takes it over with a conditional UPDATE (again, one winner) instead of being
 * told "in progress" for the rest of the window.
 */
export class IntakeIdempotencyKeys {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly abandonAfterMs = 5 * 60_000,
  ) {}

  async claim(ref: IntakeKeyRef, fingerprint: string, now: number, windowMs: number): Promise<IntakeKeyClaim> {
    await this.db.deleteFrom('report_intake_keys').where('expires_at', '<=', now).execute();
    const inserted = await this.db
      .insertInto('report_intake_keys')
      .values({ token_id: ref.tokenId, key_hash: ref.keyHash, fingerprint, response: null, started_at: now, expires_at: now + windowMs })
      .onConflict((oc) => oc.columns(['token_id', 'key_hash']).doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1) return { kind: 'claimed' };
    const held = await this.db.selectFrom('report_intake_keys').select(['fingerprint', 'response', 'started_at']).where('token_id', '=', ref.tokenId).where('key_hash', '=', ref.keyHash).executeTakeFirst();
    // Deleted between our insert and this read (expired, or released by a failed first request): the
    // caller's retry is the honest answer, and it costs nothing.
    if (!held) return { kind: 'in_progress' };
    if (held.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (held.response !== null) return { kind: 'replay', answer: JSON.parse(held.response) as IntakeAnswer };
    if (held.started_at > now - this.abandonAfterMs) return { kind: 'in_progress' };
    const taken = await this.db
      .updateTable('report_intake_keys')
      .set({ started_at: now })
      .where('token_id', '=', ref.tokenId)
      .where('key_hash', '=', ref.keyHash)
      .where('response', 'is', null)
      .where('started_at', '=', held.started_at)
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1 ? { kind: 'claimed' } : { kind: 'in_progress' };
  }

  async complete(ref: IntakeKeyRef, answer: IntakeAnswer): Promise<void> {
    await this.db.updateTable('report_intake_keys').set({ response: JSON.stringify(answer) }).where('token_id', '=', ref.tokenId).where('key_hash', '=', ref.keyHash).execute();
  }

  /** Nothing was filed (a refused body, an error): the key is free again, so a corrected retry is not told "another body". */
  async release(ref: IntakeKeyRef): Promise<void> {
    await this.db.deleteFrom('report_intake_keys').where('token_id', '=', ref.tokenId).where('key_hash', '=', ref.keyHash).where('response', 'is', null).execute();
  }
}
