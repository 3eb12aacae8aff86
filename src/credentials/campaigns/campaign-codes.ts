import { GatehouseError } from '../../lib/errors.js';

/** Stable codes of a campaign's refusals. */
export const CAMPAIGN_ERRORS = {
  invalidInput: 'campaign_invalid_input',
  scopeInvalid: 'campaign_scope_invalid',
  notFound: 'campaign_not_found',
  closed: 'campaign_closed',
  itemNotFound: 'campaign_item_not_found',
  itemsWithoutEvidence: 'campaign_items_without_evidence',
  notAttestable: 'campaign_item_not_attestable',
  beliefIsNotEvidence: 'campaign_belief_not_evidence',
  sameAttester: 'campaign_attestation_same_admin',
  taskLinkInvalid: 'campaign_task_link_invalid',
  rotationTargetsInvalid: 'campaign_rotation_targets_invalid',
  notOwner: 'campaign_task_not_owner',
} as const;

export function campaignError(code: string, message: string, status = 400): GatehouseError {
  return new GatehouseError(code, { status, publicMessage: message, detail: message });
}
