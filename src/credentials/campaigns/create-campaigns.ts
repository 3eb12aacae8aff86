import type { Clock } from '../../lib/clock.js';
import { holderIsDead, leaseHolderOf, leaseOwnerOf, localLeaseRunner, type LeaseRunner } from '../../lib/process-lease-holder.js';
import type { Random } from '../../lib/random.js';
import type { ChangeAuditor, Database, Store } from '../../store/index.js';
import type { RotationContext, RotationTarget, Rotator } from '../rotation/index.js';
import type { ServiceTokens } from '../service-tokens/index.js';
import { CAMPAIGN_ERRORS, campaignError } from './campaign-codes.js';
import { checkRotationTargets, type RotationTargetProblem } from './check-rotation-targets.js';
import { evidenceProblem, type CampaignEndState, type CampaignEvidence, type CampaignItem } from './campaign-item.js';
import { CampaignRepository } from './campaign-repository.js';
import { inScope, type CampaignScope } from './campaign-scope.js';
import { createOwnerTasks, type OwnerTask, type OwnerTaskNotifier, type OwnerTaskView } from './owner-tasks.js';
import { finishOverlap, rotateTokenItem } from './rotate-token-item.js';

type CampaignRow = Database['rotation_campaigns'];
type ItemRow = Database['campaign_items'];

const DEFAULT_LEASE_MS = 5 * 60_000;
const DEFAULT_OVERLAP_MS = 24 * 3_600_000;
const BATCH = 100;
const ERROR_MAX = 500;

export interface CampaignProgress {
  total: number;
  done: number;
  failed: number;
  waiting: number;
  ownerTasks: number;
  /** Items finished by this run (for a rate). */
  processed: number;
  startedAt: number;
  now: number;
}

export interface CampaignHooks {
  /** Called after a rotator (or the token rotation) succeeded and before the item is marked: tests crash here. */
  afterRotate?: ((item: CampaignItem) => void | Promise<void>) | undefined;
}

export interface CampaignsOptions {
  store: Store;
  clock: Clock;
  random: Random;
  audit: ChangeAuditor;
  tokens: Pick<ServiceTokens, 'list' | 'rotate' | 'revoke' | 'show' | 'verify'>;
  rotators: ReadonlyMap<string, Rotator>;
  /** Where new secrets go (service tokens, and rotators through their context). */
  deliverSecret?: RotationContext['deliverSecret'] | undefined;
  /** Checks that `deliverSecret` would take a service token's new secret, before the token is rotated. */
  checkDelivery?: ((target: RotationTarget) => Promise<void>) | undefined;
  previousSecret?: RotationContext['previousSecret'] | undefined;
  leaseMs?: number | undefined;
  /** This process, named in every claim it takes; default: the local host and pid. */
  runner?: LeaseRunner | undefined;
  hooks?: CampaignHooks | undefined;
  /** Tells an owner of their new task (the CLI wires email); without it every link is left for the operator. */
  notifyOwnerTask?: OwnerTaskNotifier | undefined;
}

export interface StartCampaignInput {
  reason: string;
  scope: CampaignScope;
  emergency: boolean;
  overlapMs?: number | undefined;
  actor: string;
  /**
   * Refuse to start (`campaign_rotation_targets_invalid`, naming each item) when an item in scope names
   * a rotator that is not configured or has a locator its rotator refuses. Without it they are only
   * reported in `problems`, and the run makes them owner tasks or failed items.
   */
  refuseInvalidTargets?: boolean | undefined;
}

export interface RunResult {
  processed: number;
  ownerTasks: OwnerTask[];
  counts: Record<string, number>;
  /**
   * Items another run still holds (a live process, or one on another host whose lease has not run
   * out): this run left them alone, and says so rather than ending as if the campaign were done.
   */
  heldByOthers: { item: string; holder: string; until: number }[];
}

export interface CampaignStatus {
  campaign: CampaignRow;
  total: number;
  byState: Record<string, number>;
  byEndState: Record<string, number>;
}

export interface Campaigns {
  start(input: StartCampaignInput): Promise<{ campaign: CampaignRow; items: number; problems: RotationTargetProblem[] }>;
  /** Works through every claimable item (pending, or a claim whose lease expired); `resume` is the same after a crash. */
  run(campaignId: string, options: { actor: string; retryFailed?: boolean; onProgress?: (progress: CampaignProgress) => void }): Promise<RunResult>;
  status(campaignId: string): Promise<CampaignStatus>;
  /**
   * The open owner task a one-time link names, shown only to its owner (`campaign_task_not_owner`); the
   * link is not used up. `campaign_task_link_invalid` for an unknown or used link.
   */
  ownerTaskByLink(linkToken: string, input: { person: string }): Promise<OwnerTaskView>;
  /**
   * The owner's attestation through their one-time link (single use). `person` is the email of a
   * portal session the caller has checked (security key, recent proof); it must be the item's owner.
   */
  attestAsOwner(linkToken: string, input: { person: string; statement: string }): Promise<CampaignItem>;
  /** A second person's approval: `approver` is the email of a signed-in admin, never the owner. */
  approve(campaignId: string, itemKey: string, input: { approver: string; statement: string }): Promise<CampaignItem>;
  /** Open owner tasks and who has attested each. */
  awaitingApproval(campaignId: string): Promise<OwnerTaskView[]>;
  close(campaignId: string, actor: string): Promise<CampaignRow>;
  items(campaignId: string): Promise<CampaignItem[]>;
  list(): Promise<CampaignRow[]>;
  report(campaignId: string): Promise<CampaignReportData>;
}

export interface CampaignReportData {
  campaign: CampaignRow;
  items: CampaignItem[];
  attestations: Database['campaign_attestations'][];
  generatedAt: number;
}

const truncate = (text: string) => (text.length > ERROR_MAX ? `${text.slice(0, ERROR_MAX)}…` : text);
const messageOf = (error: unknown) => truncate(error instanceof Error ? error.message : String(error));

/**
 * Rotation campaigns: snapshot every credential in scope, drive each to rotated, revoked or retired
 * with evidence, and refuse to close while any item has none.
 *
 * Crash safety: an item is claimed (`pending → rotating`, with a lease) before anything is done to it
 * and settled (`rotating → done | failed | waiting | owner_task`) only by the claim holder. A process
 * that dies between the rotator's success and the settle leaves the item `rotating`; once its lease
 * ends, a resume runs the rotator again, which the rotator contract requires to be safe (it rotates
 * again and probes). So an item is rotated at most twice per crash, never skipped, and never closed
 * without the probe of the run that settled it. A claim names its holder's host and pid: a resume on
 * the same host takes over at once the claims of a holder whose process is gone (audited as
 * `campaign.lease_taken_over`); elsewhere the lease's end decides.
 */
export function createCampaigns(options: CampaignsOptions): Campaigns {
  const { store, clock, random, audit, tokens, rotators, hooks } = options;
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const runner = options.runner ?? localLeaseRunner();
  const repo = new CampaignRepository(store, clock, audit);
  const owners = createOwnerTasks({ store, clock, random, repo, notify: options.notifyOwnerTask });

  const rotationContext: RotationContext = {
    now: () => clock.now(),
    deliverSecret: async (target, secret) => {
      if (!options.deliverSecret) throw new Error('no secret sink is configured: the new secret would be lost');
      return options.deliverSecret(target, secret);
    },
    ...(options.previousSecret ? { previousSecret: options.previousSecret } : {}),
  };

  const settleDone = (item: CampaignItem, actor: string, endState: CampaignEndState, evidence: CampaignEvidence, deliveredTo: string) =>
    repo.audited((settled: boolean) => (settled ? { type: 'campaign.item_closed', outcome: 'success', actor, detail: { campaign: item.campaignId, item: item.name, endState, evidence: evidence.kind, attempt: item.attempts } } : undefined), async (trx) => {
      const settled = await repo.settle(trx, item, { state: 'done', end_state: endState, evidence: JSON.stringify(evidence), delivered_to: deliveredTo, done_at: clock.now(), done_by: actor, last_error: null });
      if (settled && item.source === 'inventory') {
        const set = endState === 'rotated' ? { last_rotated_at: evidence.at } : { status: 'retired' as const };
        await trx.updateTable('credential_inventory').set({ ...set, updated_at: clock.now(), updated_by: `campaign:${item.campaignId}` }).where('id', '=', item.credentialId).execute();
      }
      return settled;
    });

  const settleFailed = (item: CampaignItem, actor: string, error: string) =>
    repo.audited((settled: boolean) => (settled ? { type: 'campaign.item_failed', outcome: 'failure', actor, detail: { campaign: item.campaignId, item: item.name, error } } : undefined), (trx) => repo.settle(trx, item, { state: 'failed', last_error: error }));

  async function processInventoryItem(item: CampaignItem, campaign: CampaignRow, actor: string, tasks: OwnerTask[]): Promise<void> {
    const inventory = await store.db.selectFrom('credential_inventory').select(['status', 'rotator', 'locator', 'believed_unused']).where('id', '=', item.credentialId).executeTakeFirst();
    if (!inventory) return void (await settleFailed(item, actor, 'the credential was deleted from the inventory'));
    // The rotator and locator are read now, not from the snapshot: fixing a locator and resuming must work.
    const rotator = inventory.rotator ? rotators.get(inventory.rotator) : undefined;
    const revokeOnly = item.believedUnused || Number(inventory.believed_unused) === 1 || inventory.status === 'retired';
    if (!rotator) {
      const reason = inventory.rotator ? `rotator ${inventory.rotator} is not available here` : 'no rotator is configured';
      const task = await owners.open(item, campaign, actor, reason, revokeOnly);
      if (task) tasks.push(task);
      return;
    }
    let locator: Record<string, string>;
    try {
      locator = JSON.parse(inventory.locator) as Record<string, string>;
    } catch {
      return void (await settleFailed(item, actor, 'the locator is not valid JSON'));
    }
    const target: RotationTarget = { itemId: item.credentialId, name: item.name, rotator: rotator.name, locator };
    const problem = rotator.validate(target);
    if (problem) return void (await settleFailed(item, actor, `rotator ${rotator.name}: ${problem}`));
    let outcome;
    try {
      outcome = revokeOnly ? await rotator.revoke(target, rotationContext) : await rotator.rotate(target, rotationContext);
    } catch (error) {
      return void (await settleFailed(item, actor, `rotator ${rotator.name}: ${messageOf(error)}`));
    }
    const bad = evidenceProblem(outcome?.evidence, revokeOnly ? 'revocation_probed' : 'old_credential_refused');
    if (bad) return void (await settleFailed(item, actor, `rotator ${rotator.name}: ${bad}`));
    await hooks?.afterRotate?.(item);
    const endState: CampaignEndState = revokeOnly ? (inventory.status === 'retired' ? 'retired' : 'revoked') : 'rotated';
    await settleDone(item, actor, endState, outcome.evidence, outcome.deliveredTo);
  }

  async function processTokenItem(item: CampaignItem, campaign: CampaignRow, actor: string): Promise<void> {
    let step;
    try {
      step = await rotateTokenItem(item, { tokens, clock, emergency: Number(campaign.emergency) === 1, overlapMs: Number(campaign.overlap_ms), actor, deliverSecret: options.deliverSecret, checkDelivery: options.checkDelivery });
    } catch (error) {
      return void (await settleFailed(item, actor, messageOf(error)));
    }
    await hooks?.afterRotate?.(item);
    if (step.kind === 'done') return void (await settleDone(item, actor, step.endState, step.evidence, step.deliveredTo));
    await repo.audited((settled: boolean) => (settled ? { type: 'campaign.item_waiting', outcome: 'info', actor, detail: { campaign: item.campaignId, item: item.name, until: step.waitUntil } } : undefined), (trx) =>
      repo.settle(trx, item, { state: 'waiting', wait_until: step.waitUntil, delivered_to: step.deliveredTo }),
    );
  }

  async function finishDueOverlaps(campaignId: string, actor: string): Promise<number> {
    let finished = 0;
    for (const item of await repo.dueWaiting(campaignId, clock.now())) {
      const evidence = await finishOverlap(item, { tokens, clock });
      if (!evidence) continue;
      const endState: CampaignEndState = evidence.kind === 'revocation_probed' ? 'revoked' : 'rotated';
      const done = await repo.audited({ type: 'campaign.item_closed', outcome: 'success', actor, detail: { campaign: campaignId, item: item.name, endState, evidence: evidence.kind } }, async (trx) => {
        const result = await trx
          .updateTable('campaign_items')
          .set({ state: 'done', end_state: endState, evidence: JSON.stringify(evidence), done_at: clock.now(), done_by: actor, updated_at: clock.now() })
          .where('campaign_id', '=', campaignId)
          .where('item_key', '=', item.key)
          .where('state', '=', 'waiting')
          .executeTakeFirst();
        return Number(result.numUpdatedRows) === 1;
      });
      if (done) finished += 1;
    }
    return finished;
  }

  /** Ends the leases held by runs that died on this host, so this run claims their items now. */
  async function takeOverDeadHolders(campaignId: string, actor: string): Promise<void> {
    for (const claim of await repo.heldClaims(campaignId, clock.now())) {
      const holder = leaseHolderOf(claim.owner);
      if (!holderIsDead(runner, holder)) continue;
      await repo.audited(
        (ended: boolean) => (ended ? { type: 'campaign.lease_taken_over', outcome: 'success', actor, detail: { campaign: campaignId, item: claim.name, reason: 'holder_process_gone', holder: { host: holder!.host, pid: holder!.pid } } } : undefined),
        (trx) => repo.endLease(trx, campaignId, claim, clock.now()),
      );
    }
  }

  async function progressOf(campaignId: string, processed: number, startedAt: number): Promise<CampaignProgress> {
    const counts = await repo.counts(campaignId);
    const sum = (state: string) => counts.filter((c) => c.state === state).reduce((n, c) => n + c.count, 0);
    return { total: counts.reduce((n, c) => n + c.count, 0), done: sum('done'), failed: sum('failed'), waiting: sum('waiting'), ownerTasks: sum('owner_task'), processed, startedAt, now: clock.now() };
  }

  return {
    async start(input) {
      const reason = input.reason.trim();
      if (reason === '' || reason.length > 500) throw campaignError(CAMPAIGN_ERRORS.invalidInput, '--reason is required (at most 500 characters)');
      const overlapMs = input.overlapMs ?? DEFAULT_OVERLAP_MS;
      if (!Number.isFinite(overlapMs) || overlapMs <= 0) throw campaignError(CAMPAIGN_ERRORS.invalidInput, 'the overlap must be a positive duration');
      const now = clock.now();
      const id = random.uuid();
      const base = { campaign_id: id, state: 'pending' as const, end_state: null, lease_until: null, lease_owner: null, wait_until: null, attempts: 0, evidence: null, delivered_to: null, done_at: null, done_by: null, last_error: null, task_token_hash: null, updated_at: now };
      const items: ItemRow[] = [];
      const named = { token: new Set(input.scope.token ?? []), credential: new Set(input.scope.credential ?? []) };
      for (const t of await tokens.list()) {
        // A revoked token is left out, unless named: a campaign over a leaked token records its
        // revocation as the evidence that closes it.
        if (t.status === 'revoked' && !named.token.has(t.name)) continue;
        if (!inScope(input.scope, { kind: 'service_token', system: 'gatehouse', owner: t.owner, token: t.name })) continue;
        named.token.delete(t.name);
        items.push({ ...base, item_key: `token:${t.id}`, source: 'service_token', credential_id: t.id, name: t.name, kind: 'service_token', system: 'gatehouse', owner: t.owner, rotator: 'gatehouse-service-token', locator: JSON.stringify({ token: t.name }), believed_unused: t.believedUnused ? 1 : 0 });
      }
      // A retired credential is left out, unless named by id (its rotator then revokes it and probes).
      const ids = [...named.credential];
      const inventory = await store.db
        .selectFrom('credential_inventory')
        .selectAll()
        .where((eb) => (ids.length > 0 ? eb.or([eb('status', '=', 'active'), eb('id', 'in', ids)]) : eb('status', '=', 'active')))
        .execute();
      for (const row of inventory) {
        if (!inScope(input.scope, { ...row, credentialId: row.id })) continue;
        named.credential.delete(row.id);
        items.push({ ...base, item_key: `inventory:${row.id}`, source: 'inventory', credential_id: row.id, name: row.name, kind: row.kind, system: row.system, owner: row.owner, rotator: row.rotator, locator: row.locator, believed_unused: Number(row.believed_unused) });
      }
      // A name that matches nothing is a typo or a deleted credential: refused, never silently dropped.
      const missing = [...[...named.token].map((n) => `token=${n}`), ...[...named.credential].map((id) => `credential=${id}`)];
      if (missing.length > 0) throw campaignError(CAMPAIGN_ERRORS.scopeInvalid, `--scope names credentials that do not exist: ${missing.join(', ').slice(0, 300)}`);
      if (items.length === 0) throw campaignError(CAMPAIGN_ERRORS.scopeInvalid, 'no credential is in scope: nothing to rotate');
      const problems = checkRotationTargets(items.filter((i) => i.source === 'inventory').map((i) => ({ id: i.credential_id, name: i.name, rotator: i.rotator, locator: i.locator })), rotators);
      if (problems.length > 0 && input.refuseInvalidTargets === true) {
        throw campaignError(CAMPAIGN_ERRORS.rotationTargetsInvalid, `${problems.length} item(s) in scope cannot be rotated as the inventory says; nothing was started:\n${problems.map((p) => `  ${p.item}: ${p.problem}`).join('\n')}`);
      }
      const campaign: CampaignRow = { id, reason, scope: JSON.stringify(input.scope), emergency: input.emergency ? 1 : 0, overlap_ms: overlapMs, status: 'open', started_at: now, started_by: input.actor, closed_at: null, closed_by: null };
      await repo.insertCampaign(campaign, items, { type: 'campaign.started', outcome: 'success', actor: input.actor, detail: { campaign: id, reason, scope: input.scope, emergency: input.emergency, items: items.length } });
      return { campaign, items: items.length, problems };
    },

    async run(campaignId, { actor, retryFailed = false, onProgress }) {
      const campaign = await repo.openCampaign(campaignId);
      if (retryFailed) {
        await repo.requeueFailed(campaignId);
        await repo.requeueOwnerTasksWithRotator(campaignId, [...rotators.keys()]);
      }
      const startedAt = clock.now();
      const owner = leaseOwnerOf(runner, random.uuid());
      await takeOverDeadHolders(campaignId, actor);
      const ownerTasks: OwnerTask[] = [];
      let processed = await finishDueOverlaps(campaignId, actor);
      const report = async () => onProgress?.(await progressOf(campaignId, processed, startedAt));
      await report();
      for (;;) {
        const keys = await repo.claimable(campaignId, clock.now(), BATCH);
        if (keys.length === 0) break;
        for (const key of keys) {
          const seen = await repo.itemByKey(campaignId, key);
          const item = seen && (await repo.claim(seen, clock.now(), leaseMs, owner));
          if (!item) continue;
          if (item.source === 'service_token') await processTokenItem(item, campaign, actor);
          else await processInventoryItem(item, campaign, actor, ownerTasks);
          processed += 1;
        }
        await report();
      }
      const status = await this.status(campaignId);
      const heldByOthers = (await repo.heldClaims(campaignId, clock.now()))
        .filter((claim) => claim.owner !== owner)
        .map((claim) => {
          const holder = leaseHolderOf(claim.owner);
          return { item: claim.name, holder: holder ? `${holder.host}/${holder.pid}` : 'another run', until: claim.until };
        });
      return { processed, ownerTasks, counts: status.byState, heldByOthers };
    },

    async status(campaignId) {
      const campaign = await repo.campaign(campaignId);
      const byState: Record<string, number> = {};
      const byEndState: Record<string, number> = {};
      let total = 0;
      for (const { state, endState, count } of await repo.counts(campaignId)) {
        byState[state] = (byState[state] ?? 0) + count;
        if (endState) byEndState[endState] = (byEndState[endState] ?? 0) + count;
        total += count;
      }
      return { campaign, total, byState, byEndState };
    },

    ownerTaskByLink: (linkToken, input) => owners.byLink(linkToken, input),
    attestAsOwner: (linkToken, input) => owners.attestAsOwner(linkToken, input),
    approve: (campaignId, itemKey, input) => owners.approve(campaignId, itemKey, input),
    awaitingApproval: (campaignId) => owners.awaiting(campaignId),

    async close(campaignId, actor) {
      await repo.openCampaign(campaignId);
      const open = await repo.withoutEvidence(campaignId, 50);
      if (open.total > 0) {
        const named = open.items.map((i) => `${i.name} (${i.state}${i.lastError ? `: ${i.lastError}` : ''})`).join('; ');
        const more = open.total > open.items.length ? `; and ${open.total - open.items.length} more` : '';
        throw campaignError(CAMPAIGN_ERRORS.itemsWithoutEvidence, `campaign ${campaignId} cannot close: ${open.total} item(s) without evidence: ${named}${more}`, 409);
      }
      const now = clock.now();
      await repo.audited({ type: 'campaign.closed', outcome: 'success', actor, detail: { campaign: campaignId } }, (trx) =>
        trx.updateTable('rotation_campaigns').set({ status: 'closed', closed_at: now, closed_by: actor }).where('id', '=', campaignId).where('status', '=', 'open').execute(),
      );
      return repo.campaign(campaignId);
    },

    items: (campaignId) => repo.items(campaignId),
    list: () => repo.listCampaigns(),
    async report(campaignId) {
      return { campaign: await repo.campaign(campaignId), items: await repo.items(campaignId), attestations: await repo.attestations(campaignId), generatedAt: clock.now() };
    },
  };
}
