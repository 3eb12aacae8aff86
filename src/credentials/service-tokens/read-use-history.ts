import type { Store } from '../../store/index.js';
import type { BatchHistory } from './detect-use-anomalies.js';
import type { ServiceTokenStatus } from './service-token-state.js';

/** Who a token is, for an alert about it: never a secret or a digest. */
export interface TokenIdentityForAlert {
  tokenId: string;
  name: string;
  clientId: string;
  owner: string;
  status: ServiceTokenStatus;
  statusReason: string | undefined;
  version: number;
  createdAt: number;
  /** The last use before the batch being judged, or undefined if the token had never been used. */
  previousUseAt: number | undefined;
}

export interface TokenHistoryRead {
  identity: TokenIdentityForAlert;
  history: BatchHistory;
}

// Small enough that ids × values stays far below SQLite's and PostgreSQL's bound-parameter limits
// (32 sightings per token per batch: at most 1,600 values per query).
const CHUNK = 50;

/**
 * The history of the batch's tokens, read just before the batch is written, in three queries per 50
 * tokens whatever their past: the rows, which of the batch's own networks and apps each token had
 * been seen on, and whether it had any sighting of each kind. Tokens deleted meanwhile are absent.
 */
export async function readUseHistory(store: Pick<Store, 'db'>, batch: ReadonlyMap<string, { sightings: ReadonlyMap<string, { value: string }> }>): Promise<Map<string, TokenHistoryRead>> {
  const out = new Map<string, TokenHistoryRead>();
  const ids = [...batch.keys()];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const chunk = ids.slice(i, i + CHUNK);
    const values = [...new Set(chunk.flatMap((id) => [...batch.get(id)!.sightings.values()].map((s) => s.value)))];
    const [rows, known, kinds] = await Promise.all([
      store.db
        .selectFrom('service_tokens')
        .select(['id', 'name', 'client_id', 'owner', 'status', 'status_reason', 'version', 'created_at', 'last_used_at', 'believed_unused'])
        .where('id', 'in', chunk)
        .execute(),
      values.length === 0
        ? Promise.resolve([])
        : store.db.selectFrom('service_token_sightings').select(['token_id', 'kind', 'value']).where('token_id', 'in', chunk).where('value', 'in', values).execute(),
      store.db.selectFrom('service_token_sightings').select(['token_id', 'kind']).where('token_id', 'in', chunk).groupBy(['token_id', 'kind']).execute(),
    ]);
    const knownSet = new Set(known.map((k) => `${k.token_id}\u0000${k.kind}\u0000${k.value}`));
    const kindSet = new Set(kinds.map((k) => `${k.token_id}\u0000${k.kind}`));
    for (const row of rows) {
      const lastUsedAt = row.last_used_at === null ? undefined : Number(row.last_used_at);
      out.set(row.id, {
        identity: {
          tokenId: row.id,
          name: row.name,
          clientId: row.client_id,
          owner: row.owner,
          status: row.status,
          statusReason: row.status_reason ?? undefined,
          version: Number(row.version),
          createdAt: Number(row.created_at),
          previousUseAt: lastUsedAt,
        },
        history: {
          createdAt: Number(row.created_at),
          lastUsedAt,
          believedUnused: Number(row.believed_unused) === 1,
          seenBefore: { network: kindSet.has(`${row.id}\u0000network`), app: kindSet.has(`${row.id}\u0000app`) },
          known: (kind, value) => knownSet.has(`${row.id}\u0000${kind}\u0000${value}`),
        },
      });
    }
  }
  return out;
}
