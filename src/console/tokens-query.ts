import type { Kysely } from 'kysely';
import type { Database } from '../store/index.js';
import { containsText } from './like-pattern.js';

/**
 * What the console shows of a service token. The columns are named one by one: neither the secret's
 * digest nor the previous one is ever read here, so no change to the page can leak them.
 */
export interface TokenRow {
  name: string;
  clientId: string;
  owner: string;
  description: string;
  tags: string[];
  apps: string[];
  status: 'active' | 'suspended' | 'revoked';
  statusReason: string | null;
  believedUnused: boolean;
  createdAt: number;
  createdBy: string;
  expiresAt: number;
  rotatedAt: number | null;
  /** While a rotation's overlap lasts: until when the previous secret is still accepted. */
  previousValidUntil: number | null;
  lastUsedAt: number | null;
  lastUsedIp: string | null;
  lastUsedApp: string | null;
}

function listOf(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** Service tokens by name (the unique index), a bounded page, searched by name or owner. */
export async function listTokens(db: Kysely<Database>, filter: { q?: string; limit: number }): Promise<{ tokens: TokenRow[]; total: number }> {
  let base = db.selectFrom('service_tokens');
  const q = filter.q?.trim().toLowerCase();
  if (q) base = base.where((eb) => eb.or([containsText('service_tokens.name', q), containsText('service_tokens.owner', q)]));
  const total = Number((await base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst())?.n ?? 0);
  const rows = await base
    .select([
      'name',
      'client_id',
      'owner',
      'description',
      'tags',
      'apps',
      'status',
      'status_reason',
      'believed_unused',
      'created_at',
      'created_by',
      'expires_at',
      'rotated_at',
      'previous_valid_until',
      'last_used_at',
      'last_used_ip',
      'last_used_app',
    ])
    .orderBy('name')
    .limit(filter.limit)
    .execute();
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    total,
    tokens: rows.map((r) => ({
      name: r.name,
      clientId: r.client_id,
      owner: r.owner,
      description: r.description,
      tags: listOf(r.tags),
      apps: listOf(r.apps),
      status: r.status,
      statusReason: r.status_reason,
      believedUnused: Number(r.believed_unused) === 1,
      createdAt: Number(r.created_at),
      createdBy: r.created_by,
      expiresAt: Number(r.expires_at),
      rotatedAt: num(r.rotated_at),
      previousValidUntil: num(r.previous_valid_until),
      lastUsedAt: num(r.last_used_at),
      lastUsedIp: r.last_used_ip,
      lastUsedApp: r.last_used_app,
    })),
  };
}

export interface InventoryRow {
  name: string;
  kind: string;
  system: string;
  owner: string;
  scope: string;
  rotator: string | null;
  believedUnused: boolean;
  lastRotatedAt: number | null;
  lastUsedAt: number | null;
  lastUsedEvidence: string | null;
}

/** Active inventory items by name (the unique index), a bounded page; retired ones are counted. */
export async function listInventory(db: Kysely<Database>, limit: number): Promise<{ items: InventoryRow[]; active: number; retired: number }> {
  const counts = await db.selectFrom('credential_inventory').select(['status', (eb) => eb.fn.countAll().as('n')]).groupBy('status').execute();
  const rows = await db
    .selectFrom('credential_inventory')
    .select(['name', 'kind', 'system', 'owner', 'scope', 'rotator', 'believed_unused', 'last_rotated_at', 'last_used_at', 'last_used_evidence'])
    .where('status', '=', 'active')
    .orderBy('name')
    .limit(limit)
    .execute();
  const countOf = (status: string) => Number(counts.find((c) => c.status === status)?.n ?? 0);
  return {
    active: countOf('active'),
    retired: countOf('retired'),
    items: rows.map((r) => ({
      name: r.name,
      kind: r.kind,
      system: r.system,
      owner: r.owner,
      scope: r.scope,
      rotator: r.rotator,
      believedUnused: Number(r.believed_unused) === 1,
      lastRotatedAt: r.last_rotated_at === null ? null : Number(r.last_rotated_at),
      lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
      lastUsedEvidence: r.last_used_evidence,
    })),
  };
}

export interface CampaignRow {
  id: string;
  reason: string;
  emergency: boolean;
  status: 'open' | 'closed';
  startedAt: number;
  startedBy: string;
  closedAt: number | null;
  total: number;
  /** Items by state: pending, rotating, waiting, owner_task, done, failed. */
  byState: Record<string, number>;
}

/** The latest campaigns, and their items counted by state in one grouped query (campaign_items_state). */
export async function listCampaigns(db: Kysely<Database>, limit: number): Promise<CampaignRow[]> {
  const rows = await db
    .selectFrom('rotation_campaigns')
    .select(['id', 'reason', 'emergency', 'status', 'started_at', 'started_by', 'closed_at'])
    .orderBy('started_at', 'desc')
    .limit(limit)
    .execute();
  if (rows.length === 0) return [];
  const counts = await db
    .selectFrom('campaign_items')
    .select(['campaign_id', 'state', (eb) => eb.fn.countAll().as('n')])
    .where('campaign_id', 'in', rows.map((r) => r.id))
    .groupBy(['campaign_id', 'state'])
    .execute();
  return rows.map((r) => {
    const byState: Record<string, number> = {};
    for (const c of counts) if (c.campaign_id === r.id) byState[c.state] = Number(c.n);
    return {
      id: r.id,
      reason: r.reason,
      emergency: Number(r.emergency) === 1,
      status: r.status,
      startedAt: Number(r.started_at),
      startedBy: r.started_by,
      closedAt: r.closed_at === null ? null : Number(r.closed_at),
      total: Object.values(byState).reduce((a, b) => a + b, 0),
      byState,
    };
  });
}
