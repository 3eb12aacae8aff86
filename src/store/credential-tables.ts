/**
 * Table types of the credential capabilities (migrations 008 and 009): service tokens, the inventory
 * of outside credentials and rotation campaigns. Kept apart from schema.ts, which holds the rest, with
 * the same conventions: integer milliseconds, 0/1 booleans, JSON text written by one capability.
 */

/**
 * Service tokens (migration 008). Only digests of secrets are stored; `tags` and `apps` are JSON arrays
 * written by src/credentials only.
 */
export interface ServiceTokensTable {
  id: string;
  /** Public: sent by the client beside the secret. */
  client_id: string;
  name: string;
  owner: string;
  description: string;
  tags: string;
  apps: string;
  /** SHA-256 (hex) of the current secret. */
  secret_hash: string;
  /** SHA-256 of the secret before the last rotation, accepted until `previous_valid_until`. */
  previous_secret_hash: string | null;
  previous_valid_until: number | null;
  status: 'active' | 'suspended' | 'revoked';
  status_reason: string | null;
  /** 1 when its owner declared it unused: any use of it is then the loudest anomaly. */
  believed_unused: number;
  /** Grows with every change: feed rows applied out of order never restore an older state. */
  version: number;
  created_at: number;
  created_by: string;
  updated_at: number;
  expires_at: number;
  rotated_at: number | null;
  rotated_by: string | null;
  last_used_at: number | null;
  last_used_ip: string | null;
  last_used_app: string | null;
  last_used_user_agent: string | null;
}

/** Networks (/24, /48) and apps a service token has been used from or on (migration 008). */
export interface ServiceTokenSightingsTable {
  token_id: string;
  kind: 'network' | 'app';
  value: string;
  first_seen_at: number;
  last_seen_at: number;
}

/** Credentials outside Gatehouse (migration 009). `locator` is JSON of string values, never a secret. */
export interface CredentialInventoryTable {
  id: string;
  name: string;
  kind: 'service_account' | 'api_token' | 'ssh_key' | 'database_role' | 'other';
  system: string;
  owner: string;
  scope: string;
  created_at: number | null;
  last_rotated_at: number | null;
  last_used_at: number | null;
  last_used_evidence: string | null;
  rotator: string | null;
  locator: string;
  status: 'active' | 'retired';
  believed_unused: number;
  added_at: number;
  updated_at: number;
  updated_by: string;
}

/** Rotation campaigns (migration 009). `scope` is JSON `{ kind?, system?, owner? }`. */
export interface RotationCampaignsTable {
  id: string;
  reason: string;
  scope: string;
  emergency: number;
  overlap_ms: number;
  status: 'open' | 'closed';
  started_at: number;
  started_by: string;
  closed_at: number | null;
  closed_by: string | null;
}

/** One credential snapshotted into a campaign (migration 009); `evidence` is JSON. */
export interface CampaignItemsTable {
  campaign_id: string;
  item_key: string;
  source: 'service_token' | 'inventory';
  credential_id: string;
  name: string;
  kind: string;
  system: string;
  owner: string;
  rotator: string | null;
  locator: string;
  believed_unused: number;
  state: 'pending' | 'rotating' | 'waiting' | 'owner_task' | 'done' | 'failed';
  end_state: 'rotated' | 'revoked' | 'retired' | null;
  lease_until: number | null;
  /** Who holds the claim, `<host>/<pid>/<uuid>` (migration 011); null when unclaimed. */
  lease_owner: string | null;
  wait_until: number | null;
  attempts: number;
  evidence: string | null;
  delivered_to: string | null;
  done_at: number | null;
  done_by: string | null;
  last_error: string | null;
  /** SHA-256 of the owner task's one-time link token; the token itself is only in the link. */
  task_token_hash: string | null;
  updated_at: number;
}

/** An admin vouching for an owner task (migration 009); two different admins count. */
export interface CampaignAttestationsTable {
  campaign_id: string;
  item_key: string;
  admin: string;
  statement: string;
  attested_at: number;
}
