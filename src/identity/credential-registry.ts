import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, InputError, NotFoundError } from '../lib/errors.js';
import type { Database } from '../store/index.js';

export interface StoredCredential {
  id: string;
  userId: string;
  name: string;
  publicKey: Uint8Array;
  counter: number;
  aaguid: string;
  transports: string[];
  authenticatorClass: 'hwk' | 'swk';
  backedUp: boolean;
  createdAt: number;
  lastUsedAt: number | undefined;
  /** Model name from an allowlisted attestation; undefined when the key's model is not known. */
  model?: string | undefined;
  /** Attestation statement format at registration (packed, tpm, none, ...). */
  attestation?: string | undefined;
  /** Where the key was added from, shown to its owner and sent in the notice. */
  addedIp?: string | undefined;
  addedUserAgent?: string | undefined;
}

/** What a usable credential and a pending one store alike, as columns. */
type CredentialColumns = Pick<
  Database['credentials'],
  'id' | 'user_id' | 'name' | 'public_key' | 'counter' | 'aaguid' | 'transports' | 'authenticator_class' | 'backed_up' | 'model'
>;
export type NewCredential = Omit<StoredCredential, 'createdAt' | 'lastUsedAt'>;

export function credentialColumns(credential: NewCredential): CredentialColumns {
  return {
    id: credential.id,
    user_id: credential.userId,
    name: credential.name,
    public_key: Buffer.from(credential.publicKey).toString('base64url'),
    counter: credential.counter,
    aaguid: credential.aaguid,
    transports: JSON.stringify(credential.transports),
    authenticator_class: credential.authenticatorClass,
    backed_up: credential.backedUp ? 1 : 0,
    model: credential.model ?? null,
  };
}

export function credentialFromColumns(row: CredentialColumns): NewCredential {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    publicKey: new Uint8Array(Buffer.from(row.public_key, 'base64url')),
    counter: Number(row.counter),
    aaguid: row.aaguid,
    transports: JSON.parse(row.transports) as string[],
    authenticatorClass: row.authenticator_class,
    backedUp: Number(row.backed_up) === 1,
    model: row.model ?? undefined,
  };
}

function toCredential(row: Database['credentials']): StoredCredential {
  return {
    ...credentialFromColumns(row),
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? undefined : Number(row.last_used_at),
    attestation: row.attestation ?? undefined,
    addedIp: row.added_ip ?? undefined,
    addedUserAgent: row.added_user_agent ?? undefined,
  };
}

/** What sign-in needs of the user a credential belongs to. */
export interface CredentialOwner {
  email: string;
  name: string;
  status: string;
}

export function checkKeyName(raw: unknown): string {
  const name = typeof raw === 'string' ? raw.trim() : '';
  if (name.length < 1 || name.length > 60 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new InputError('a key name must be 1 to 60 printable characters', 'invalid_key_name');
  }
  return name;
}

/** Security keys and passkeys registered to users (WebAuthn credential records, L3 §4). */
export class CredentialRegistry {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async listForUser(userId: string): Promise<StoredCredential[]> {
    const rows = await this.db.selectFrom('credentials').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map(toCredential);
  }

  async find(id: string): Promise<StoredCredential | undefined> {
    const row = await this.db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toCredential(row) : undefined;
  }

  /**
   * The credential and its owner's account in one query: the sign-in hot path needs both, and on
   * PostgreSQL every round trip costs more CPU than the signature check itself.
   */
  async findWithOwner(id: string): Promise<{ credential: StoredCredential; owner: CredentialOwner } | undefined> {
    const row = await this.db
      .selectFrom('credentials')
      .innerJoin('users', 'users.id', 'credentials.user_id')
      .selectAll('credentials')
      .select(['users.email as owner_email', 'users.name as owner_name', 'users.status as owner_status'])
      .where('credentials.id', '=', id)
      .executeTakeFirst();
    if (!row) return undefined;
    return { credential: toCredential(row), owner: { email: row.owner_email, name: row.owner_name, status: row.owner_status } };
  }

  async countForUser(userId: string, db: Kysely<Database> = this.db): Promise<number> {
    const row = await db
      .selectFrom('credentials')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('user_id', '=', userId)
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async add(
    credential: NewCredential,
    db: Kysely<Database> = this.db,
  ): Promise<StoredCredential> {
    const now = this.clock.now();
    const existing = await db.selectFrom('credentials').select('id').where('id', '=', credential.id).executeTakeFirst();
    if (existing) {
      // WebAuthn L3 §7.1 step 25: a credential id already registered must be refused.
      throw new GatehouseError('webauthn_credential_exists', {
        status: 400,
        publicMessage: 'This security key is already registered.',
        detail: `credential ${credential.id} already registered`,
      });
    }
    await db
      .insertInto('credentials')
      .values({
        ...credentialColumns(credential),
        created_at: now,
        last_used_at: null,
        attestation: credential.attestation ?? null,
        added_ip: credential.addedIp?.slice(0, 64) ?? null,
        added_user_agent: credential.addedUserAgent?.slice(0, 300) ?? null,
      })
      .execute();
    return { ...credential, createdAt: now, lastUsedAt: undefined };
  }

  /** Stores the new signature counter; the condition makes a concurrent older assertion lose. */
  async recordUse(id: string, newCounter: number, previousCounter: number): Promise<boolean> {
    const result = await this.db
      .updateTable('credentials')
      .set({ counter: newCounter, last_used_at: this.clock.now() })
      .where('id', '=', id)
      .where('counter', '=', previousCounter)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async rename(userId: string, id: string, name: string): Promise<void> {
    const result = await this.db
      .updateTable('credentials')
      .set({ name: checkKeyName(name) })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) !== 1) throw new NotFoundError('security key', 'key_not_found');
  }

  /**
   * Removes a key. A user may not remove their last key (they would lock themselves out or fall back
   * to a phishable factor); an admin may, e.g. for a lost key, followed by a new invite.
   */
  async remove(userId: string, id: string, options: { byAdmin: boolean }, db: Kysely<Database> = this.db): Promise<StoredCredential> {
    const row = await db.selectFrom('credentials').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    if (!row) throw new NotFoundError('security key', 'key_not_found');
    if (!options.byAdmin && (await this.countForUser(userId, db)) <= 1) {
      throw new GatehouseError('last_key', {
        status: 409,
        publicMessage: 'This is your only security key. Add another key first, or ask an administrator.',
        detail: 'user tried to remove their last key',
      });
    }
    await db.deleteFrom('credentials').where('id', '=', id).execute();
    return toCredential(row);
  }
}
