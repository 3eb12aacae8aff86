import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import type { Database } from '../store/index.js';
import { credentialColumns, credentialFromColumns, type NewCredential } from './credential-registry.js';

const FAILED = 'The new key could not be confirmed. Start again.';

/** A registered credential waiting for its first assertion, and how it may be activated. */
export interface PendingCredential {
  credential: NewCredential;
  classification: string;
  /** Enrollment: the invite consumed when the key proves itself. */
  inviteHash: string | null;
  /** Adding a key: the only session that may activate it. */
  sessionHash: string | null;
  activationId: string;
  activationChallenge: string;
  ip: string;
  userAgent: string;
  createdAt: number;
  expiresAt: number;
}

export type NewPendingCredential = Omit<PendingCredential, 'activationId' | 'activationChallenge' | 'createdAt' | 'expiresAt'>;

/**
 * Credentials between registration and their first assertion. A registration response signs nothing
 * that ties it to our origin unless the attestation covers it, and with attestation `none` a relay on a
 * lookalike domain can rewrite clientDataJSON's origin and the rpIdHash at will (WebAuthn L3 §7.1 steps
 * 9 and 13 check values nobody signed). An assertion is signed by the credential over our rpIdHash and
 * the client data the browser wrote (L3 §7.2 steps 13, 15 and 21), so a key becomes usable only once it
 * produced one against a fresh challenge. A pending key is in no query of `credentials`: it cannot sign
 * in, count as "has a key", or be listed as one. Activation consumes the row whatever the outcome.
 */
export class PendingCredentials {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  async create(input: NewPendingCredential, ttlMs: number): Promise<PendingCredential> {
    const now = this.clock.now();
    const { credential } = input;
    const taken =
      (await this.db.selectFrom('credentials').select('id').where('id', '=', credential.id).executeTakeFirst()) ??
      (await this.db.selectFrom('pending_credentials').select('id').where('id', '=', credential.id).executeTakeFirst());
    if (taken) {
      // WebAuthn L3 §7.1 step 25: a credential id already registered must be refused.
      throw new GatehouseError('webauthn_credential_exists', { status: 400, publicMessage: 'This security key is already registered.', detail: `credential ${credential.id} already registered` });
    }
    const pending: PendingCredential = {
      ...input,
      activationId: this.random.uuid(),
      activationChallenge: randomToken(this.random, 32),
      createdAt: now,
      expiresAt: now + ttlMs,
    };
    await this.db
      .insertInto('pending_credentials')
      .values({
        ...credentialColumns(credential),
        attestation: credential.attestation ?? 'none',
        classification: input.classification,
        invite_hash: input.inviteHash,
        session_hash: input.sessionHash,
        activation_id: pending.activationId,
        activation_challenge: pending.activationChallenge,
        ip: input.ip.slice(0, 64),
        user_agent: input.userAgent.slice(0, 300),
        created_at: now,
        expires_at: pending.expiresAt,
      })
      .execute();
    return pending;
  }

  /**
   * Deletes and returns the pending credential for an activation attempt: single use, like a
   * challenge (a failed or replayed activation finds nothing and the key must be registered again).
   */
  async consume(activationId: unknown): Promise<PendingCredential> {
    if (typeof activationId !== 'string' || activationId.length > 64) {
      throw new GatehouseError('key_activation_unknown', { status: 400, publicMessage: FAILED, detail: 'missing or malformed activation id' });
    }
    const row = await this.db.deleteFrom('pending_credentials').where('activation_id', '=', activationId).returningAll().executeTakeFirst();
    if (!row) throw new GatehouseError('key_activation_unknown', { status: 400, publicMessage: FAILED, detail: 'activation unknown or already used (replay?)' });
    if (this.clock.now() >= Number(row.expires_at)) {
      throw new GatehouseError('key_activation_expired', { status: 400, publicMessage: FAILED, detail: 'the key was not confirmed in time' });
    }
    return {
      credential: {
        ...credentialFromColumns(row),
        attestation: row.attestation,
        addedIp: row.ip,
        addedUserAgent: row.user_agent,
      },
      classification: row.classification,
      inviteHash: row.invite_hash,
      sessionHash: row.session_hash,
      activationId: row.activation_id,
      activationChallenge: row.activation_challenge,
      ip: row.ip,
      userAgent: row.user_agent,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    };
  }

  /** Pending keys of a user (an expired one is never activated; pruning only reclaims the row). */
  async countForUser(userId: string): Promise<number> {
    const row = await this.db.selectFrom('pending_credentials').select((eb) => eb.fn.countAll().as('n')).where('user_id', '=', userId).where('expires_at', '>', this.clock.now()).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async pruneExpired(): Promise<number> {
    const result = await this.db.deleteFrom('pending_credentials').where('expires_at', '<=', this.clock.now()).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
