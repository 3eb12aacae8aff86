import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import { hashSecret } from '../lib/secret-hash.js';
import type { Database } from '../store/index.js';

export interface Invite {
  id: string;
  userId: string;
  expiresAt: number;
}

const INVITE_INVALID = 'Enrollment links work once and expire. Ask your administrator for a new one.';

/**
 * One-time enrollment links: a 256-bit token in the link, only its hash stored; single use (marked used
 * in the transaction that stores the new key) and expiring.
 */
export class InviteBook {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async create(userId: string, ttlMs: number, createdBy: string | null): Promise<{ token: string; invite: Invite }> {
    const token = randomToken(this.random, 32);
    const now = this.clock.now();
    const invite = { id: this.random.uuid(), userId, expiresAt: now + ttlMs };
    await this.db
      .insertInto('invites')
      .values({
        id: invite.id,
        token_hash: hashSecret(token),
        user_id: userId,
        created_at: now,
        expires_at: invite.expiresAt,
        used_at: null,
        created_by: createdBy,
      })
      .execute();
    return { token, invite };
  }

  /**
   * Finds a usable invite by token. Errors carry distinct codes for the audit log
   * (`invite_unknown`, `invite_used`, `invite_expired`) and one public message.
   */
  async findUsable(token: string, db: Kysely<Database> = this.db): Promise<Invite & { tokenHash: string }> {
    if (typeof token !== 'string' || token.length < 20 || token.length > 100) {
      throw new GatehouseError('invite_unknown', { status: 400, publicMessage: INVITE_INVALID, detail: 'malformed invite token' });
    }
    const tokenHash = hashSecret(token);
    const row = await db.selectFrom('invites').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    if (!row) throw new GatehouseError('invite_unknown', { status: 400, publicMessage: INVITE_INVALID, detail: 'no invite with that token' });
    if (row.used_at !== null) {
      throw new GatehouseError('invite_used', { status: 400, publicMessage: INVITE_INVALID, detail: `invite ${row.id} already used` });
    }
    if (this.clock.now() >= Number(row.expires_at)) {
      throw new GatehouseError('invite_expired', { status: 400, publicMessage: INVITE_INVALID, detail: `invite ${row.id} expired` });
    }
    return { id: row.id, userId: row.user_id, expiresAt: Number(row.expires_at), tokenHash };
  }

  /** Marks the invite used; fails if another request used it first (single use under concurrency). */
  async consume(tokenHash: string, db: Kysely<Database>): Promise<void> {
    const result = await db
      .updateTable('invites')
      .set({ used_at: this.clock.now() })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) {
      throw new GatehouseError('invite_used', { status: 400, publicMessage: INVITE_INVALID, detail: 'invite consumed concurrently or expired' });
    }
  }

  /** Invalidates a user's open invites (used when a new one is issued by an incident). */
  async revokeForUser(userId: string, db: Kysely<Database> = this.db): Promise<void> {
    await db.updateTable('invites').set({ used_at: this.clock.now() }).where('user_id', '=', userId).where('used_at', 'is', null).execute();
  }
}
