import type { Database } from '../../store/index.js';
import type { RotationEvidence } from '../rotation/index.js';

type Row = Database['campaign_items'];
export type CampaignItemState = Row['state'];
export type CampaignEndState = NonNullable<Row['end_state']>;

/**
 * What closes an item. A rotator's probe against the real system (`old_credential_refused`,
 * `revocation_probed`), a service token's verifier state (`old_credential_refused` with the state
 * version, or `overlap_ended`), or two different people vouching for an owner task (`attested`). Never
 * a belief: an item believed unused closes only on `revocation_probed`.
 */
export type CampaignEvidence =
  | RotationEvidence
  | { kind: 'overlap_ended'; at: number; detail: Readonly<Record<string, string | number | boolean>> }
  | { kind: 'attested'; at: number; detail: Readonly<Record<string, string | number | boolean>> };

export interface CampaignItem {
  campaignId: string;
  key: string;
  source: Row['source'];
  credentialId: string;
  name: string;
  kind: string;
  system: string;
  owner: string;
  rotator: string | undefined;
  believedUnused: boolean;
  state: CampaignItemState;
  endState: CampaignEndState | undefined;
  attempts: number;
  evidence: CampaignEvidence | undefined;
  deliveredTo: string | undefined;
  doneAt: number | undefined;
  doneBy: string | undefined;
  lastError: string | undefined;
  waitUntil: number | undefined;
  updatedAt: number;
}

function parseEvidence(text: string | null): CampaignEvidence | undefined {
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as CampaignEvidence;
  } catch {
    return undefined;
  }
}

const num = (v: number | null): number | undefined => (v === null ? undefined : Number(v));

export function campaignItemOfRow(row: Row): CampaignItem {
  return {
    campaignId: row.campaign_id,
    key: row.item_key,
    source: row.source,
    credentialId: row.credential_id,
    name: row.name,
    kind: row.kind,
    system: row.system,
    owner: row.owner,
    rotator: row.rotator ?? undefined,
    believedUnused: Number(row.believed_unused) === 1,
    state: row.state,
    endState: row.end_state ?? undefined,
    attempts: Number(row.attempts),
    evidence: parseEvidence(row.evidence),
    deliveredTo: row.delivered_to ?? undefined,
    doneAt: num(row.done_at),
    doneBy: row.done_by ?? undefined,
    lastError: row.last_error ?? undefined,
    waitUntil: num(row.wait_until),
    updatedAt: Number(row.updated_at),
  };
}

/** Whether the evidence a rotator returned is of the kind the item needs, and well formed. */
export function evidenceProblem(evidence: unknown, needed: RotationEvidence['kind']): string | undefined {
  if (typeof evidence !== 'object' || evidence === null) return 'the rotator returned no evidence';
  const e = evidence as Partial<RotationEvidence>;
  if (e.kind !== needed) return `the rotator returned evidence of kind ${JSON.stringify(e.kind)} where ${needed} is required`;
  if (typeof e.at !== 'number' || !Number.isFinite(e.at)) return 'the evidence has no probe time';
  if (typeof e.detail !== 'object' || e.detail === null || Object.keys(e.detail).length === 0) return 'the evidence does not say what was probed and what the system answered';
  return undefined;
}
