/**
 * Who runs a playbook: the lease names the host and process, so a second `incident resume` can tell
 * a live runner (wait) from one that crashed on this host (take over at once) instead of asking the
 * responder to guess. The same rule as a campaign's item leases, from `lib/process-lease-holder`.
 */
import { localLeaseRunner, type LeaseRunner } from '../lib/process-lease-holder.js';

export { holderIsDead, leaseHolderOf, leaseOwnerOf, type LeaseHolder } from '../lib/process-lease-holder.js';

export type PlaybookRunner = LeaseRunner;

export const localPlaybookRunner = (): PlaybookRunner => localLeaseRunner();
