/**
 * Rotation campaigns: after a breach, snapshot every credential in scope (service tokens and inventory
 * items) and drive each to rotated, revoked or retired, each with evidence.
 *
 * The failure this exists to prevent: credentials believed unused were not rotated after a vendor
 * breach, and were used to get in. So:
 * - An item closes only on evidence: a rotator's probe showing the OLD credential refused by the real
 *   system, a service token's verifier state, or two different people, each signed in to the portal
 *   with a security key, attesting an owner task (`campaign_attestation_same_admin` for the same one
 *   twice, or the owner approving their own); an owner's one-time link counts once and only once, and
 *   only for the owner (`campaign_task_link_invalid`, `campaign_task_not_owner`). See `owner-tasks.ts`.
 * - Belief is never evidence: an item believed unused cannot be attested
 *   (`campaign_belief_not_evidence`); it must be revoked and the revocation probed.
 * - `close` is refused while any item lacks evidence, naming each (`campaign_items_without_evidence`).
 * - A crash mid-rotation is resumed without skipping anything and without rotating anything twice
 *   except the one re-run the rotator contract allows (see `createCampaigns`).
 * - Reports escape everything: names come from imported files.
 */
export { createCampaigns, type CampaignHooks, type CampaignProgress, type CampaignReportData, type Campaigns, type CampaignsOptions, type CampaignStatus, type RunResult, type StartCampaignInput } from './create-campaigns.js';
export { ATTESTERS_REQUIRED, ownerTaskPath, type OwnerTask, type OwnerTaskNotice, type OwnerTaskNotifier, type OwnerTaskView } from './owner-tasks.js';
export { ownerTaskEmail } from './owner-task-email.js';
export { CAMPAIGN_ERRORS } from './campaign-codes.js';
export { checkRotationTargets, type RotationTargetProblem } from './check-rotation-targets.js';
export { parseCampaignScope, inScope, namesCredentials, type CampaignScope } from './campaign-scope.js';
export type { CampaignEndState, CampaignEvidence, CampaignItem, CampaignItemState } from './campaign-item.js';
export { campaignReportHtml, campaignReportJson, escapeHtml } from './render-campaign-report.js';
export { createProgressReporter, progressLine, type ProgressSink } from './campaign-progress.js';
