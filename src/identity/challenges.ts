import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import type { Database } from '../store/index.js';

export interface StoredChallenge {
  id: string;
  challenge: string;
  purpose: 'register' | 'authenticate';
  userId: string | null;
  inviteHash: string | null;
}

const FAILED = 'Sign-in failed. Try again.';

/**
 * WebAuthn challenges live in the database so that the options and the verification may be served by
 * different instances. A challenge is consumed by deleting it: a replayed response finds nothing
 * (WebAuthn L3 §13.4.3: challenges must be single use and time-limited). On PostgreSQL the table is
 * UNLOGGED (migration 005): a challenge is not worth a WAL flush.
 */
export class ChallengeStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async create(
    input: { purpose: StoredChallenge['purpose']; userId?: string | null; inviteHash?: string | null },
    ttlMs: number,
  ): Promise<StoredChallenge> {
    const now = this.clock.now();
    const stored: StoredChallenge = {
      id: this.random.uuid(),
      // 32 random bytes, base64url: what SimpleWebAuthn expects as `challenge`.
      challenge: randomToken(this.random, 32),
      purpose: input.purpose,
      userId: input.userId ?? null,
      inviteHash: input.inviteHash ?? null,
    };
    await this.db
      .insertInto('webauthn_challenges')
      .values({
        id: stored.id,
        challenge: stored.challenge,
        purpose: stored.purpose,
        user_id: stored.userId,
        invite_hash: stored.inviteHash,
        created_at: now,
        expires_at: now + ttlMs,
      })
      .execute();
    return stored;
  }

  /** Deletes and returns the challenge; `webauthn_challenge_unknown` (replayed) or `_expired`. */
  async consume(id: unknown, purpose: StoredChallenge['purpose']): Promise<StoredChallenge> {
    if (typeof id !== 'string' || id.length > 64) {
      throw new GatehouseError('webauthn_challenge_unknown', { status: 400, publicMessage: FAILED, detail: 'missing or malformed challenge id' });
    }
    const row = await this.db.deleteFrom('webauthn_challenges').where('id', '=', id).returningAll().executeTakeFirst();
    if (!row || row.purpose !== purpose) {
      throw new GatehouseError('webauthn_challenge_unknown', {
        status: 400,
        publicMessage: FAILED,
        detail: row ? `challenge was issued for ${row.purpose}` : 'challenge unknown or already used (replay?)',
      });
    }
    if (this.clock.now() >= Number(row.expires_at)) {
      throw new GatehouseError('webauthn_challenge_expired', { status: 400, publicMessage: FAILED, detail: 'challenge expired' });
    }
    return { id: row.id, challenge: row.challenge, purpose: row.purpose, userId: row.user_id, inviteHash: row.invite_hash };
  }

  async pruneExpired(): Promise<void> {
    await this.db.deleteFrom('webauthn_challenges').where('expires_at', '<', this.clock.now()).execute();
  }
}
