import type { Kysely } from 'kysely';
import type { AuditLog } from '../../audit/index.js';
import type { Clock } from '../../lib/clock.js';
import { GatehouseError, NotFoundError } from '../../lib/errors.js';
import { commitChange, type Database, type Store } from '../../store/index.js';
import { SERVICE_TOKEN_ERRORS } from './service-token-codes.js';
import { parseList, recordOfRow, stateOfRow, type ServiceTokenRecord, type ServiceTokenState } from './service-token-state.js';

type Row = Database['service_tokens'];

/**
 * `changed` carries one token's whole new state; `changed_many` carries `{ states: [...] }`, the new
 * states of the tokens one bulk change (a revocation by tag, owner or of all) wrote in one transaction.
 */
export const SERVICE_TOKEN_FEED = { changed: 'service_token.changed', changedMany: 'service_token.changed_many' } as const;

/** Which tokens a bulk revocation names. */
export type TokenScope = { tag: string } | { owner: string } | { all: true };

// Tokens per UPDATE, per audit insert and per feed row of a bulk revocation (within both engines'
// bind-parameter limits; a feed row of about 250 kB).
const BULK_CHUNK = 500;

export type ServiceTokenEventType =
  | 'service_token.created'
  | 'service_token.rotated'
  | 'service_token.revoked'
  | 'service_token.suspended'
  | 'service_token.resumed'
  | 'service_token.believed_unused';

/** What an audit event says about a token: who, which, what changed. Never a secret or a digest. */
function auditDetail(row: Row, extra: Record<string, unknown>): Record<string, unknown> {
  return { name: row.name, clientId: row.client_id, owner: row.owner, status: row.status, expiresAt: Number(row.expires_at), ...extra };
}

function payloadOf(row: Row): Record<string, unknown> {
  return { ...stateOfRow(row) };
}

/**
 * The rows of `service_tokens`. Every change is written with its change-feed row (the token's whole
 * new state, so every instance's verifier applies it at once) and its audit event in one transaction.
 * An update names the version it read: two administrators changing one token at once cannot silently
 * undo each other (the second is told to try again).
 */
export class ServiceTokenRepository {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
  ) {}

  async states(): Promise<ServiceTokenState[]> {
    return (await this.store.db.selectFrom('service_tokens').selectAll().execute()).map(stateOfRow);
  }

  async list(): Promise<ServiceTokenRecord[]> {
    return (await this.store.db.selectFrom('service_tokens').selectAll().orderBy('name').execute()).map(recordOfRow);
  }

  async find(name: string): Promise<ServiceTokenRecord | undefined> {
    const row = await this.store.db.selectFrom('service_tokens').selectAll().where('name', '=', name).executeTakeFirst();
    return row && recordOfRow(row);
  }

  async sightings(tokenId: string): Promise<{ kind: 'network' | 'app'; value: string; firstSeenAt: number; lastSeenAt: number }[]> {
    const rows = await this.store.db.selectFrom('service_token_sightings').selectAll().where('token_id', '=', tokenId).orderBy('first_seen_at').execute();
    return rows.map((r) => ({ kind: r.kind, value: r.value, firstSeenAt: Number(r.first_seen_at), lastSeenAt: Number(r.last_seen_at) }));
  }

  async insert(row: Row, actor: string): Promise<ServiceTokenState> {
    await commitChange(this.store, {
      clock: this.clock,
      audit: this.audit,
      write: async (trx) => {
        const taken = await trx.selectFrom('service_tokens').select('id').where('name', '=', row.name).executeTakeFirst();
        if (taken) throw new GatehouseError(SERVICE_TOKEN_ERRORS.nameTaken, { status: 409, publicMessage: `a service token named "${row.name}" already exists`, detail: row.name });
        await trx.insertInto('service_tokens').values(row).execute();
      },
      feed: { kind: SERVICE_TOKEN_FEED.changed, payload: payloadOf(row) },
      event: { type: 'service_token.created', outcome: 'success', actor, detail: auditDetail(row, { apps: JSON.parse(row.apps) as unknown, tags: JSON.parse(row.tags) as unknown }) },
    });
    return stateOfRow(row);
  }

  /**
   * Reads the token, lets `change` decide the new columns (or `undefined` for nothing to do, or throw
   * to refuse), and commits them with the next version. Returns the row as it is afterwards.
   */
  async update(name: string, actor: string, change: (current: Row) => TokenChange | undefined): Promise<{ row: Row; changed: boolean }> {
    const written = await commitChange<{ row: Row; decided: TokenChange | undefined }>(this.store, {
      clock: this.clock,
      audit: this.audit,
      write: async (trx: Kysely<Database>) => {
        const current = await trx.selectFrom('service_tokens').selectAll().where('name', '=', name).executeTakeFirst();
        if (!current) throw new NotFoundError(`service token ${name}`, SERVICE_TOKEN_ERRORS.notFound);
        const decided = change(current);
        if (!decided) return { row: current, decided };
        const next: Row = { ...current, ...decided.set, version: Number(current.version) + 1, updated_at: this.clock.now() };
        const { id: _id, ...columns } = next;
        const result = await trx.updateTable('service_tokens').set(columns).where('id', '=', current.id).where('version', '=', current.version).executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) {
          throw new GatehouseError(SERVICE_TOKEN_ERRORS.conflict, { status: 409, publicMessage: `service token ${name} was changed at the same time: try again`, detail: name });
        }
        return { row: next, decided };
      },
      feed: ({ row, decided }) => (decided ? { kind: SERVICE_TOKEN_FEED.changed, payload: payloadOf(row) } : undefined),
      event: ({ row, decided }) => (decided ? { type: decided.event, outcome: 'success', actor, detail: auditDetail(row, decided.detail ?? {}) } : undefined),
    });
    return { row: written.row, changed: written.decided !== undefined };
  }

  /**
   * Revokes every token in `scope` that is not revoked yet, in one transaction: the rows, one audit
   * event per token, and feed rows carrying every new state, so another instance refuses them all
   * once it has read them. The feed rows hold BULK_CHUNK states each: an instance applies a mass
   * revocation a slice at a time, its loop free between slices (the tail yields between rows), rather
   * than parse and apply one huge row at once. `matched` counts the tokens in scope, revoked before or not.
   */
  async revokeScope(scope: TokenScope, actor: string, reason: string | undefined): Promise<{ matched: number; revoked: Row[] }> {
    const scopeDetail = 'tag' in scope ? { tag: scope.tag } : 'owner' in scope ? { owner: scope.owner } : { all: true };
    return this.store.db.transaction().execute(async (trx) => {
      let query = trx.selectFrom('service_tokens').select(['id', 'tags', 'status']);
      if ('owner' in scope) query = query.where('owner', '=', scope.owner);
      const inScope = (await query.execute()).filter((r) => !('tag' in scope) || parseList(r.tags).includes(scope.tag));
      const ids = inScope.filter((r) => r.status !== 'revoked').map((r) => r.id);
      const now = this.clock.now();
      const revoked: Row[] = [];
      for (let i = 0; i < ids.length; i += BULK_CHUNK) {
        const rows = await commitChange(this.store, {
          db: trx,
          clock: this.clock,
          write: async (chunkTrx) => {
            const written = await chunkTrx
              .updateTable('service_tokens')
              .set((eb) => ({ status: 'revoked', status_reason: reason ?? null, previous_secret_hash: null, previous_valid_until: null, version: eb('version', '+', 1), updated_at: now }))
              .where('id', 'in', ids.slice(i, i + BULK_CHUNK))
              // A token revoked meanwhile by someone else keeps that revocation (and its version).
              .where('status', '!=', 'revoked')
              .returningAll()
              .execute();
            const events = written.map((row) => ({ type: 'service_token.revoked', outcome: 'success' as const, actor, detail: auditDetail(row, { reason: reason ?? null, scope: scopeDetail }) }));
            await this.audit.recordMany(events, chunkTrx);
            return written;
          },
          feed: (written) => (written.length > 0 ? { kind: SERVICE_TOKEN_FEED.changedMany, payload: { states: written.map(stateOfRow) } } : undefined),
        });
        revoked.push(...rows);
      }
      return { matched: inScope.length, revoked };
    });
  }
}

/** A change decided from the current row: the columns to set and the audit event recording it. */
export interface TokenChange {
  set: Partial<Row>;
  event: ServiceTokenEventType;
  detail?: Record<string, unknown>;
}
