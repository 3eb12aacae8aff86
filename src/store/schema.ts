/**
 * Table types for Kysely. Timestamps are integer milliseconds since the epoch (bigint on PostgreSQL,
 * parsed to number), booleans are 0/1 integers: one representation on both engines, so the same
 * queries and the same conformance suite run on SQLite and PostgreSQL.
 */
import type { Generated } from 'kysely';
import type {
  CampaignAttestationsTable,
  CampaignItemsTable,
  CredentialInventoryTable,
  RotationCampaignsTable,
  ServiceTokenSightingsTable,
  ServiceTokensTable,
} from './credential-tables.js';
import type { SshCertificateAuthoritiesTable } from './ssh-tables.js';
import type { CliCredentialsTable, CliLoginCodesTable } from './cli-login-tables.js';
import type { ReportGroupsTable, ReportIntakeKeysTable, ReportMessagesTable, ReportsTable } from './report-tables.js';
import type { ConsoleRollupMarksTable, ConsoleRollupsTable } from './console-tables.js';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  status: 'active' | 'disabled';
  /** 1 when an incident or admin demands a new key proof before anything else. */
  reenroll_required: number;
  created_at: number;
  updated_at: number;
}

export interface GroupMembersTable {
  user_id: string;
  group_name: string;
  added_at: number;
}

export interface InvitesTable {
  id: string;
  /** SHA-256 of the one-time token: the token itself is only ever in the link. */
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  created_by: string | null;
}

export interface CredentialsTable {
  /** WebAuthn credential id, base64url. */
  id: string;
  user_id: string;
  name: string;
  /** COSE public key, base64url. */
  public_key: string;
  counter: number;
  aaguid: string;
  transports: string;
  authenticator_class: 'hwk' | 'swk';
  backed_up: number;
  created_at: number;
  last_used_at: number | null;
  /** Model name from an allowlisted attestation (e.g. "YubiKey 5 NFC"); null when unknown. */
  model: string | null;
  /** Attestation statement format at registration (packed, tpm, none, ...); null for keys added before it was kept. */
  attestation: string | null;
  added_ip: string | null;
  added_user_agent: string | null;
}

/** A registered credential that has not yet proved itself with an assertion (migration 006). */
export interface PendingCredentialsTable
  extends Pick<CredentialsTable, 'id' | 'user_id' | 'name' | 'public_key' | 'counter' | 'aaguid' | 'transports' | 'authenticator_class' | 'backed_up' | 'model'> {
  attestation: string;
  classification: string;
  /** Set for enrollment from an invite: the invite is consumed only when the key proves itself. */
  invite_hash: string | null;
  /** Set when a signed-in session adds the key: only that session may activate it. */
  session_hash: string | null;
  activation_id: string;
  activation_challenge: string;
  ip: string;
  user_agent: string;
  created_at: number;
  expires_at: number;
}

export interface ChallengesTable {
  id: string;
  challenge: string;
  purpose: 'register' | 'authenticate';
  user_id: string | null;
  /** For registration from an invite: the invite's hash, consumed on success. */
  invite_hash: string | null;
  expires_at: number;
  created_at: number;
}

export interface LegacyFactorsTable {
  user_id: string;
  password_hash: string | null;
  /** RFC 6238 shared secret (base32). A shared secret, not a bearer token: it has to be readable. */
  totp_secret: string | null;
  /** Last accepted TOTP time step, so a code cannot be replayed within its window. */
  totp_last_step: number | null;
  updated_at: number;
}

/**
 * Failed legacy sign-ins per account in the current window (migration 007). `account_key` is an HMAC
 * of the normalised email under the server secret, so the rows name no one.
 */
export interface SignInThrottleTable {
  account_key: string;
  /** Attempts in this window that have not succeeded (an attempt counts before its password is checked). */
  failures: number;
  window_started_at: number;
}

export interface SessionsTable {
  /** SHA-256 of the session id; the id itself lives only in the cookie. */
  id_hash: string;
  user_id: string;
  /** JSON array of RFC 8176 AMR values. */
  amr: string;
  /** Time of the last phishing-resistant proof (a WebAuthn assertion), ms. */
  phishing_resistant_at: number | null;
  ip: string;
  user_agent: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  /** The credential whose assertion created the session; null for password sessions. */
  credential_id: string | null;
}

export interface AuditEventsTable {
  seq: Generated<number>;
  at: number;
  type: string;
  outcome: 'success' | 'failure' | 'info';
  code: string | null;
  user_id: string | null;
  actor: string | null;
  ip: string | null;
  /** JSON object with the event's details. Never a secret. */
  detail: string;
  /** Hash chain (src/audit/event-hash.ts): the previous event's hash, and SHA-256(prev_hash || canonical form). */
  prev_hash: string;
  hash: string;
}

/** One row (id 1): the last appended event. Locked by every append so the chain stays linear. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** Signed anchor left by retention: the last deleted event, so verification starts from it. */
export interface AuditCheckpointsTable {
  seq: number;
  hash: string;
  at: number;
  created_at: number;
  /** Ed25519 public key (SPKI DER, base64url) that made the signature. */
  public_key: string;
  signature: string;
}

export interface ChangeFeedTable {
  id: Generated<number>;
  at: number;
  kind: string;
  payload: string;
}

export interface IpBlocksTable {
  cidr: string;
  reason: string;
  created_at: number;
  created_by: string | null;
  expires_at: number | null;
}

export interface DomainBlocksTable {
  name: string;
  reason: string;
  created_at: number;
  created_by: string | null;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  /** Private JWK as JSON. */
  private_jwk: string;
  public_jwk: string;
  created_at: number;
  activates_at: number;
  retires_at: number | null;
}

export interface AppCodesTable {
  code_hash: string;
  session_hash: string;
  app: string;
  expires_at: number;
  used_at: number | null;
}

export interface AppSessionsTable {
  id_hash: string;
  session_hash: string;
  app: string;
  created_at: number;
}

/** Instance-wide values such as the server secret used for HMACs (generated on first start). */
export interface SettingsTable {
  key: string;
  value: string;
}

export interface DnsQueriesTable {
  id: Generated<number>;
  at: number;
  client: string;
  user_id: string | null;
  protocol: string;
  name: string;
  type: string;
  verdict: string;
  reason: string;
  latency_ms: number;
}

export interface DomainRegistrationsTable {
  /** Registrable domain. */
  domain: string;
  /** JSON of the domain-age record (registration date or lookup outcome). */
  record: string;
  expires_at: number;
}

export interface DohTokensTable {
  token_hash: string;
  user_id: string;
  created_at: number;
}

export interface DomainFirstSeenTable {
  domain: string;
  first_seen_at: number;
}

/** Incident response (migration 004). JSON columns hold values written by src/incident only. */
export interface IncidentsTable {
  id: string;
  title: string;
  status: 'open' | 'closed';
  /** Playbook progress: `incomplete` means a step failed or the run stopped; `incident resume` continues it. */
  run_state: 'pending' | 'running' | 'complete' | 'incomplete';
  indicators: string;
  options: string;
  declared_at: number;
  declared_by: string;
  closed_at: number | null;
  closed_by: string | null;
  close_note: string | null;
  /** The runner holding the playbook (one at a time across processes) and until when. */
  lease_owner: string | null;
  lease_until: number | null;
  /** The exported STIX 2.1 bundle (JSON). */
  stix: string | null;
}

export interface IncidentStepsTable {
  incident_id: string;
  name: string;
  position: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  started_at: number | null;
  ended_at: number | null;
  result: string | null;
  error: string | null;
}

export interface IncidentUsersTable {
  incident_id: string;
  user_id: string;
  /** JSON array of why the user is contained (`hunt:password-without-key`, `indicator:user`...). */
  sources: string;
  added_at: number;
}

export interface IncidentOutboxTable {
  /** Unique per incident, channel and recipient: the outbox never holds a message twice. */
  key: string;
  incident_id: string;
  channel: 'email' | 'webhook';
  kind: string;
  recipient: string;
  payload: string;
  status: 'pending' | 'sending' | 'sent' | 'failed';
  attempts: number;
  created_at: number;
  claimed_at: number | null;
  sent_at: number | null;
  last_error: string | null;
}

export interface IncidentAlertsTable {
  key: string;
  first_at: number;
  last_at: number;
  count: number;
  incident_id: string | null;
}

export interface Database {
  dns_queries: DnsQueriesTable;
  domain_registrations: DomainRegistrationsTable;
  domain_first_seen: DomainFirstSeenTable;
  doh_tokens: DohTokensTable;
  settings: SettingsTable;
  users: UsersTable;
  group_members: GroupMembersTable;
  invites: InvitesTable;
  credentials: CredentialsTable;
  pending_credentials: PendingCredentialsTable;
  webauthn_challenges: ChallengesTable;
  legacy_factors: LegacyFactorsTable;
  sign_in_throttle: SignInThrottleTable;
  sessions: SessionsTable;
  audit_events: AuditEventsTable;
  change_feed: ChangeFeedTable;
  ip_blocks: IpBlocksTable;
  domain_blocks: DomainBlocksTable;
  signing_keys: SigningKeysTable;
  app_codes: AppCodesTable;
  app_sessions: AppSessionsTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  incidents: IncidentsTable;
  incident_steps: IncidentStepsTable;
  incident_users: IncidentUsersTable;
  incident_outbox: IncidentOutboxTable;
  incident_alerts: IncidentAlertsTable;
  service_tokens: ServiceTokensTable;
  service_token_sightings: ServiceTokenSightingsTable;
  credential_inventory: CredentialInventoryTable;
  rotation_campaigns: RotationCampaignsTable;
  campaign_items: CampaignItemsTable;
  campaign_attestations: CampaignAttestationsTable;
  ssh_certificate_authorities: SshCertificateAuthoritiesTable;
  cli_login_codes: CliLoginCodesTable;
  report_groups: ReportGroupsTable;
  reports: ReportsTable;
  report_messages: ReportMessagesTable;
  report_intake_keys: ReportIntakeKeysTable;
  cli_credentials: CliCredentialsTable;
  console_rollups: ConsoleRollupsTable;
  console_rollup_marks: ConsoleRollupMarksTable;
}
