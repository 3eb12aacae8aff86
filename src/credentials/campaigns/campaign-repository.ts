import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import { commitChange, type ChangeAuditEvent, type ChangeAuditor, type Database, type Store } from '../../store/index.js';
import { CAMPAIGN_ERRORS, campaignError } from './campaign-codes.js';
import { campaignItemOfRow, type CampaignItem } from './campaign-item.js';

type CampaignRow = Database['rotation_campaigns'];
type ItemRow = Database['campaign_items'];

const CHUNK = 40;

/**
 * The rows of `rotation_campaigns`, `campaign_items` and `campaign_attestations`. Item transitions are
 * conditional updates (`… WHERE state = 'pending'`): two processes resuming the same campaign never
 * both claim an item, and a claim whose lease ran out (its process died) can be taken over.
 */
export class CampaignRepository {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: ChangeAuditor,
  ) {}

  /** Runs a write with its audit event in one transaction (no change-feed row: no instance caches campaigns). */
  audited<T>(event: ChangeAuditEvent | ((written: T) => ChangeAuditEvent | undefined), write: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
    return commitChange(this.store, { clock: this.clock, feed: () => undefined, audit: this.audit, event, write });
  }

  async insertCampaign(campaign: CampaignRow, items: ItemRow[], event: ChangeAuditEvent): Promise<void> {
    await this.audited(event, async (trx) => {
      await trx.insertInto('rotation_campaigns').values(campaign).execute();
      for (let i = 0; i < items.length; i += CHUNK) await trx.insertInto('campaign_items').values(items.slice(i, i + CHUNK)).execute();
    });
  }

  async campaign(id: string): Promise<CampaignRow> {
    const row = await this.store.db.selectFrom('rotation_campaigns').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw campaignError(CAMPAIGN_ERRORS.notFound, `campaign ${JSON.stringify(id)} was not found`, 404);
    return row;
  }

  async openCampaign(id: string): Promise<CampaignRow> {
    const row = await this.campaign(id);
    if (row.status !== 'open') throw campaignError(CAMPAIGN_ERRORS.closed, `campaign ${id} is closed`, 409);
    return row;
  }

  listCampaigns(): Promise<CampaignRow[]> {
    return this.store.db.selectFrom('rotation_campaigns').selectAll().orderBy('started_at', 'desc').execute();
  }

  async items(campaignId: string): Promise<CampaignItem[]> {
    const rows = await this.store.db.selectFrom('campaign_items').selectAll().where('campaign_id', '=', campaignId).orderBy('name').execute();
    return rows.map(campaignItemOfRow);
  }

  async itemByName(campaignId: string, name: string): Promise<CampaignItem> {
    const rows = await this.store.db.selectFrom('campaign_items').selectAll().where('campaign_id', '=', campaignId).where('name', '=', name).execute();
    if (rows.length !== 1) throw campaignError(CAMPAIGN_ERRORS.itemNotFound, rows.length === 0 ? `campaign ${campaignId} has no item named ${JSON.stringify(name)}` : `campaign ${campaignId} has ${rows.length} items named ${JSON.stringify(name)}; use its key`, 404);
    return campaignItemOfRow(rows[0]!);
  }

  async itemByKey(campaignId: string, key: string): Promise<CampaignItem | undefined> {
    const row = await this.store.db.selectFrom('campaign_items').selectAll().where('campaign_id', '=', campaignId).where('item_key', '=', key).executeTakeFirst();
    return row ? campaignItemOfRow(row) : undefined;
  }

  /** Keys of items a runner may claim now: pending ones, and claims whose lease expired (a crashed run). */
  async claimable(campaignId: string, now: number, limit: number): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('campaign_items')
      .select('item_key')
      .where('campaign_id', '=', campaignId)
      .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'rotating'), eb('lease_until', '<=', now)])]))
      .orderBy('item_key')
      .limit(limit)
      .execute();
    return rows.map((r) => r.item_key);
  }

  /**
   * Claims one item for `leaseMs`, as read (compare-and-set on its attempt count); returns the claimed
   * item, or undefined when another runner got it first or it is no longer claimable.
   */
  async claim(item: CampaignItem, now: number, leaseMs: number, owner: string): Promise<CampaignItem | undefined> {
    const result = await this.store.db
      .updateTable('campaign_items')
      .set({ state: 'rotating', lease_until: now + leaseMs, lease_owner: owner, attempts: item.attempts + 1, updated_at: now })
      .where('campaign_id', '=', item.campaignId)
      .where('item_key', '=', item.key)
      .where('attempts', '=', item.attempts)
      .where((eb) => eb.or([eb('state', '=', 'pending'), eb.and([eb('state', '=', 'rotating'), eb('lease_until', '<=', now)])]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1 ? { ...item, state: 'rotating', attempts: item.attempts + 1 } : undefined;
  }

  /**
   * Moves a claimed item on; only the holder of the latest claim can. `attempts` is the fencing token:
   * a runner that outlived its lease (slow, not dead) and was overtaken cannot overwrite the evidence
   * of the run that took the item over.
   */
  async settle(trx: Kysely<Database>, item: { campaignId: string; key: string; attempts: number }, set: Partial<ItemRow>): Promise<boolean> {
    const result = await trx
      .updateTable('campaign_items')
      .set({ ...set, lease_until: null, lease_owner: null, updated_at: this.clock.now() })
      .where('campaign_id', '=', item.campaignId)
      .where('item_key', '=', item.key)
      .where('state', '=', 'rotating')
      .where('attempts', '=', item.attempts)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Claims still within their lease, with who holds them (to find holders that died on this host). */
  async heldClaims(campaignId: string, now: number): Promise<{ key: string; name: string; attempts: number; owner: string; until: number }[]> {
    const rows = await this.store.db
      .selectFrom('campaign_items')
      .select(['item_key', 'name', 'attempts', 'lease_owner', 'lease_until'])
      .where('campaign_id', '=', campaignId)
      .where('state', '=', 'rotating')
      .where('lease_until', '>', now)
      .where('lease_owner', 'is not', null)
      .execute();
    return rows.map((r) => ({ key: r.item_key, name: r.name, attempts: Number(r.attempts), owner: r.lease_owner as string, until: Number(r.lease_until) }));
  }

  /**
   * Ends the lease of one claim, as read (same holder, same attempt), so the ordinary claim takes the
   * item over. Two runs ending the same dead holder's lease both succeed here, but only one of them
   * then wins the claim (compare-and-set on the attempt count).
   */
  async endLease(trx: Kysely<Database>, campaignId: string, claim: { key: string; attempts: number; owner: string }, now: number): Promise<boolean> {
    const result = await trx
      .updateTable('campaign_items')
      .set({ lease_until: now, updated_at: now })
      .where('campaign_id', '=', campaignId)
      .where('item_key', '=', claim.key)
      .where('state', '=', 'rotating')
      .where('attempts', '=', claim.attempts)
      .where('lease_owner', '=', claim.owner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async dueWaiting(campaignId: string, now: number): Promise<CampaignItem[]> {
    const rows = await this.store.db.selectFrom('campaign_items').selectAll().where('campaign_id', '=', campaignId).where('state', '=', 'waiting').where('wait_until', '<=', now).execute();
    return rows.map(campaignItemOfRow);
  }

  /** Puts failed items back in the queue (`campaign resume`: rotators tolerate being run again). */
  async requeueFailed(campaignId: string): Promise<number> {
    const result = await this.store.db.updateTable('campaign_items').set({ state: 'pending', updated_at: this.clock.now() }).where('campaign_id', '=', campaignId).where('state', '=', 'failed').executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /**
   * Owner tasks whose credential has since been given a rotator that is now available: back to the
   * queue, so a believed-unused item that had none can still be revoked and probed.
   */
  async requeueOwnerTasksWithRotator(campaignId: string, rotators: readonly string[]): Promise<number> {
    if (rotators.length === 0) return 0;
    const keys = await this.store.db
      .selectFrom('campaign_items')
      .innerJoin('credential_inventory', 'credential_inventory.id', 'campaign_items.credential_id')
      .select('campaign_items.item_key')
      .where('campaign_items.campaign_id', '=', campaignId)
      .where('campaign_items.state', '=', 'owner_task')
      .where('credential_inventory.rotator', 'in', [...rotators])
      .execute();
    if (keys.length === 0) return 0;
    const result = await this.store.db
      .updateTable('campaign_items')
      .set({ state: 'pending', task_token_hash: null, updated_at: this.clock.now() })
      .where('campaign_id', '=', campaignId)
      .where('item_key', 'in', keys.map((k) => k.item_key))
      .where('state', '=', 'owner_task')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Counts by state and end state in one grouped query over the `(campaign_id, state)` index. */
  async counts(campaignId: string): Promise<{ state: string; endState: string | null; count: number }[]> {
    const rows = await this.store.db
      .selectFrom('campaign_items')
      .select((eb) => ['state', 'end_state', eb.fn.countAll<number>().as('count')])
      .where('campaign_id', '=', campaignId)
      .groupBy(['state', 'end_state'])
      .execute();
    return rows.map((r) => ({ state: r.state, endState: r.end_state, count: Number(r.count) }));
  }

  /** Items that do not yet close: not done, or done without evidence (which no code path writes, but a hand edit could). */
  async withoutEvidence(campaignId: string, limit: number): Promise<{ total: number; items: { name: string; state: string; lastError: string | null }[] }> {
    const base = this.store.db.selectFrom('campaign_items').where('campaign_id', '=', campaignId).where((eb) => eb.or([eb('state', '!=', 'done'), eb('evidence', 'is', null)]));
    const total = await base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const rows = await base.select(['name', 'state', 'last_error']).orderBy('name').limit(limit).execute();
    return { total: Number(total.n), items: rows.map((r) => ({ name: r.name, state: r.state, lastError: r.last_error })) };
  }

  attestations(campaignId: string): Promise<Database['campaign_attestations'][]> {
    return this.store.db.selectFrom('campaign_attestations').selectAll().where('campaign_id', '=', campaignId).orderBy('attested_at').execute();
  }
}
