import type { Clock } from '../../lib/clock.js';
import { randomToken, type Random } from '../../lib/random.js';
import { constantTimeEqual, hashSecret } from '../../lib/secret-hash.js';
import type { Database, Store } from '../../store/index.js';
import { CAMPAIGN_ERRORS, campaignError } from './campaign-codes.js';
import type { CampaignEvidence, CampaignItem } from './campaign-item.js';
import type { CampaignRepository } from './campaign-repository.js';

/**
 * Owner tasks: an item no rotator could reach is closed by people, and people are the weak point. So
 * an owner task closes only on two attestations by two different people, each signed in to the portal
 * with a security key: the owner answering their one-time link, and an admin approving (or two admins,
 * when the owner is not a person who can sign in). Who someone is comes from a portal session, never
 * from a flag: the CLI records no attestation (`campaign attest` only says where to approve).
 *
 * The attacker, and what stops each:
 * - A leaked link (a forwarded mail, a proxy or browser history log, a Referer): the link alone does
 *   nothing. It is a 256-bit token stored only as its SHA-256; using it needs a session of the item's
 *   owner (`campaign_task_not_owner` otherwise, with the same public refusal as an unknown link); the
 *   page sends `Referrer-Policy: no-referrer` and `Cache-Control: no-store`; request logs redact
 *   token-like path segments; no audit event or log line carries it.
 * - A phished owner: a relay gets a password and a TOTP code, never a key assertion for our origin. A
 *   session without a key proof is refused (`key_proof_required`), and a key proof must be recent
 *   (`step_up_required`), so a cookie stolen hours ago cannot answer either.
 * - One operator posing as two admins: attesters are session emails, and `campaign_attestation_same_admin`
 *   refuses a second attestation by the same person, and the owner approving their own task.
 * - A replayed form post: the link's hash is cleared in the same statement that records the owner's
 *   attestation (`campaign_task_link_invalid` on reuse); the row lock serialises two posts at once.
 * - CSRF: every POST passes the portal's origin check and double-submit token.
 * - An owner approving their own task twice: the link works once, and the admin approval refuses the
 *   owner and anyone who already attested.
 * - Belief: an item believed unused is never closed by any attestation (`campaign_belief_not_evidence`).
 * - Mail scanners that open links: GET never consumes the token; only the owner's POST does.
 */

/** Attestations from this many different people close an owner task; one person's word never does. */
export const ATTESTERS_REQUIRED = 2;
const LINK_TOKEN = /^[A-Za-z0-9_-]{43}$/;
const NOTIFY_TRIES = 3;

/** The portal path of an owner task's one-time link. */
export function ownerTaskPath(linkToken: string): string {
  return `/campaigns/tasks/${linkToken}`;
}

/** What the owner is told. `linkPath` holds the bearer token: into the message, never a log. */
export interface OwnerTaskNotice {
  campaignId: string;
  campaignReason: string;
  itemName: string;
  kind: string;
  system: string;
  owner: string;
  /** Why no rotator handled it. */
  why: string;
  linkPath: string;
  /** Stable for this task (campaign, item, claim): a redelivery carries the same key. */
  idempotencyKey: string;
}

/** Sends the notice; `{ sent: false }` when this owner cannot be reached this way; throws when a send failed. */
export type OwnerTaskNotifier = (notice: OwnerTaskNotice) => Promise<{ sent: true; via: string } | { sent: false; reason: string }>;

export interface OwnerTask {
  item: string;
  owner: string;
  /** How the owner was told (`email`), or undefined when they were not. */
  notifiedVia: string | undefined;
  /** Why the owner was not told (no notifier, not an email address, the send failed). */
  notNotified: string | undefined;
  /** The one-time link token, only when the owner was not told: the operator passes it on. */
  linkToken: string | undefined;
}

export interface OwnerTaskView {
  item: CampaignItem;
  campaignReason: string;
  attesters: string[];
}

const personOf = (email: string) => email.trim().toLowerCase();

export function createOwnerTasks(deps: { store: Store; clock: Clock; random: Random; repo: CampaignRepository; notify: OwnerTaskNotifier | undefined }) {
  const { store, clock, random, repo } = deps;

  /** At least once: a failed send is retried with the same key; the outcome goes in the task's audit event. */
  async function notify(notice: OwnerTaskNotice): Promise<{ via?: string; notNotified?: string }> {
    if (!deps.notify) return { notNotified: 'no notifier is configured' };
    let last = '';
    for (let attempt = 0; attempt < NOTIFY_TRIES; attempt++) {
      try {
        const result = await deps.notify(notice);
        return result.sent ? { via: result.via } : { notNotified: result.reason };
      } catch (error) {
        last = (error instanceof Error ? error.message : String(error)).replaceAll(notice.linkPath, '[link]').slice(0, 300);
      }
    }
    return { notNotified: `sending failed: ${last}` };
  }

  /**
   * Turns a claimed item into an owner task. The notice goes out before the link's hash is stored: a
   * crash in between leaves the item claimed, and the resume that takes it over mints and sends a new
   * link (a new task, a new idempotency key); the first link never worked.
   */
  async function open(item: CampaignItem, campaign: Database['rotation_campaigns'], actor: string, why: string, revokeOnly: boolean): Promise<OwnerTask | undefined> {
    const linkToken = randomToken(random, 32);
    const notice: OwnerTaskNotice = {
      campaignId: item.campaignId,
      campaignReason: campaign.reason,
      itemName: item.name,
      kind: item.kind,
      system: item.system,
      owner: item.owner,
      why: revokeOnly ? `${why}; it is believed unused, so only a revocation probed by a rotator closes it` : why,
      linkPath: ownerTaskPath(linkToken),
      idempotencyKey: `campaign-task:${item.campaignId}:${item.key}:${item.attempts}`,
    };
    const told = await notify(notice);
    const settled = await repo.audited(
      (settled: boolean) =>
        settled ? { type: 'campaign.owner_task', outcome: 'info', actor, detail: { campaign: item.campaignId, item: item.name, owner: item.owner, reason: why, notified: told.via ?? 'no', ...(told.notNotified ? { notNotified: told.notNotified } : {}) } } : undefined,
      (trx) => repo.settle(trx, item, { state: 'owner_task', task_token_hash: hashSecret(linkToken), last_error: revokeOnly ? `${why}; believed unused: only a probed revocation closes it` : why }),
    );
    if (!settled) return undefined;
    return { item: item.name, owner: item.owner, notifiedVia: told.via, notNotified: told.notNotified, linkToken: told.via ? undefined : linkToken };
  }

  /** The open task a link names, or `campaign_task_link_invalid` (unknown, used, or its campaign closed). */
  async function byLink(linkToken: string): Promise<OwnerTaskView & { hash: string }> {
    const invalid = () => campaignError(CAMPAIGN_ERRORS.taskLinkInvalid, 'this link is not valid: it was used already, or its campaign is closed', 404);
    if (!LINK_TOKEN.test(linkToken)) throw invalid();
    const hash = hashSecret(linkToken);
    const row = await store.db
      .selectFrom('campaign_items')
      .innerJoin('rotation_campaigns', 'rotation_campaigns.id', 'campaign_items.campaign_id')
      .select(['campaign_items.campaign_id', 'campaign_items.item_key', 'campaign_items.task_token_hash', 'rotation_campaigns.reason'])
      .where('campaign_items.task_token_hash', '=', hash)
      .where('campaign_items.state', '=', 'owner_task')
      .where('rotation_campaigns.status', '=', 'open')
      .executeTakeFirst();
    // The index finds the row by hash; the hashes are then compared in constant time all the same.
    if (!row || row.task_token_hash === null || !constantTimeEqual(row.task_token_hash, hash)) throw invalid();
    const item = await repo.itemByKey(row.campaign_id, row.item_key);
    if (!item) throw invalid();
    return { item, campaignReason: row.reason, attesters: await attestersOf(item), hash };
  }

  async function attestersOf(item: CampaignItem): Promise<string[]> {
    const rows = await store.db.selectFrom('campaign_attestations').select('admin').where('campaign_id', '=', item.campaignId).where('item_key', '=', item.key).orderBy('attested_at').execute();
    return rows.map((r) => r.admin);
  }

  function checkStatement(statement: string): string {
    const said = statement.trim();
    if (said === '' || said.length > 1000) throw campaignError(CAMPAIGN_ERRORS.invalidInput, 'say what was done and how it was checked (at most 1000 characters)');
    return said;
  }

  /**
   * Records one person's attestation, and closes the item when enough different people have attested.
   * With `linkHash` it is the owner redeeming their link, consumed in the statement that locks the row.
   */
  async function record(item: CampaignItem, who: string, said: string, linkHash: string | undefined): Promise<CampaignItem> {
    const { campaignId } = item;
    return repo.audited({ type: 'campaign.attested', outcome: 'info', actor: who, detail: { campaign: campaignId, item: item.name, as: linkHash ? 'owner' : 'approver' } }, async (trx) => {
      // Touch the item row first: it locks it (PostgreSQL row lock, SQLite write lock), so two people
      // attesting at once are serialised and the second one sees the first one's attestation.
      let lock = trx.updateTable('campaign_items').set({ updated_at: clock.now(), ...(linkHash ? { task_token_hash: null } : {}) }).where('campaign_id', '=', campaignId).where('item_key', '=', item.key).where('state', '=', 'owner_task');
      if (linkHash) lock = lock.where('task_token_hash', '=', linkHash);
      const locked = await lock.executeTakeFirst();
      if (Number(locked.numUpdatedRows) !== 1) throw campaignError(linkHash ? CAMPAIGN_ERRORS.taskLinkInvalid : CAMPAIGN_ERRORS.notAttestable, `${item.name} is no longer an open owner task`, linkHash ? 404 : 409);
      const before = await trx.selectFrom('campaign_attestations').select(['admin', 'statement']).where('campaign_id', '=', campaignId).where('item_key', '=', item.key).execute();
      if (before.some((a) => a.admin === who)) throw campaignError(CAMPAIGN_ERRORS.sameAttester, `${who} already attested ${item.name}; a second, different person must approve`, 409);
      const now = clock.now();
      await trx.insertInto('campaign_attestations').values({ campaign_id: campaignId, item_key: item.key, admin: who, statement: said, attested_at: now }).execute();
      const attesters = [...before.map((a) => a.admin), who];
      if (attesters.length < ATTESTERS_REQUIRED) return item;
      const evidence: CampaignEvidence = { kind: 'attested', at: now, detail: { attesters: attesters.join(', '), count: attesters.length, statements: [...before.map((a) => a.statement), said].join(' | ') } };
      await trx
        .updateTable('campaign_items')
        .set({ state: 'done', end_state: 'rotated', evidence: JSON.stringify(evidence), done_at: now, done_by: attesters.join(', '), task_token_hash: null, updated_at: now })
        .where('campaign_id', '=', campaignId)
        .where('item_key', '=', item.key)
        .where('state', '=', 'owner_task')
        .execute();
      return { ...item, state: 'done', endState: 'rotated', evidence, doneAt: now, doneBy: attesters.join(', ') };
    });
  }

  const refuseBelief = (item: CampaignItem) => {
    if (item.believedUnused) throw campaignError(CAMPAIGN_ERRORS.beliefIsNotEvidence, `${item.name} is believed unused: belief is not evidence, and neither is an attestation; revoke it through a rotator and let the probe close it`, 409);
  };

  const refuseNonOwner = (item: CampaignItem, person: string) => {
    const who = personOf(person);
    if (who === '' || who !== personOf(item.owner)) throw campaignError(CAMPAIGN_ERRORS.notOwner, `${who || '(nobody)'} is not the owner (${item.owner}) of ${item.name}`, 403);
  };

  return {
    open,
    /** The task a link names, for its owner only: `person` is the signed-in email (the portal proved it). */
    async byLink(linkToken: string, input: { person: string }): Promise<OwnerTaskView> {
      const { hash: _hash, ...view } = await byLink(linkToken);
      refuseNonOwner(view.item, input.person);
      return view;
    },

    /** The owner's attestation through their link; `person` is the signed-in email (the portal proved it). */
    async attestAsOwner(linkToken: string, input: { person: string; statement: string }): Promise<CampaignItem> {
      const said = checkStatement(input.statement);
      const { item, hash } = await byLink(linkToken);
      refuseNonOwner(item, input.person);
      refuseBelief(item);
      return record(item, personOf(input.person), said, hash);
    },

    /** A second person's approval; `approver` is a signed-in admin's email (the portal proved it). */
    async approve(campaignId: string, itemKey: string, input: { approver: string; statement: string }): Promise<CampaignItem> {
      await repo.openCampaign(campaignId);
      const said = checkStatement(input.statement);
      const item = await repo.itemByKey(campaignId, itemKey);
      if (!item) throw campaignError(CAMPAIGN_ERRORS.itemNotFound, `campaign ${campaignId} has no item ${JSON.stringify(itemKey)}`, 404);
      refuseBelief(item);
      if (item.state !== 'owner_task') throw campaignError(CAMPAIGN_ERRORS.notAttestable, `${item.name} is ${item.state}: only an owner task (no rotator could reach it) is closed by attestation`, 409);
      const who = personOf(input.approver);
      if (who === '') throw campaignError(CAMPAIGN_ERRORS.invalidInput, 'an approval needs who approves');
      // The owner's word is the first attestation, never also the second.
      if (who === personOf(item.owner)) throw campaignError(CAMPAIGN_ERRORS.sameAttester, `${who} owns ${item.name}: a different person must approve`, 409);
      return record(item, who, said, undefined);
    },

    /** Open owner tasks of a campaign with who has attested each so far. */
    async awaiting(campaignId: string): Promise<OwnerTaskView[]> {
      const campaign = await repo.campaign(campaignId);
      const items = (await repo.items(campaignId)).filter((i) => i.state === 'owner_task');
      const attestations = await repo.attestations(campaignId);
      return items.map((item) => ({ item, campaignReason: campaign.reason, attesters: attestations.filter((a) => a.item_key === item.key).map((a) => a.admin) }));
    },
  };
}
