/** Table types of "report something suspicious" (migration 013): integer milliseconds, JSON as text. */

export interface ReportGroupsTable {
  id: string;
  /** The lure's registrable domain (lower-case A-label). */
  domain: string;
  status: 'open' | 'escalated' | 'dismissed';
  first_seen_at: number;
  last_seen_at: number;
  escalated_at: number | null;
  escalated_by: string | null;
  escalation_reason: string | null;
  /** JSON: the incident a responder declares (title, domains, urls) and its evidence. */
  incident_draft: string | null;
  dismissed_at: number | null;
  dismissed_by: string | null;
}

export interface ReportsTable {
  id: string;
  group_id: string | null;
  source: 'portal' | 'smtp' | 'webhook' | 'block_page' | 'cli';
  /** Directory email of an identified reporter; null: anonymous or an unverified intake sender. */
  reporter: string | null;
  client_ip: string | null;
  body: string;
  /** JSON: extracted URLs and domains with their verdicts. */
  indicators: string;
  verdict: 'suspicious' | 'harmless' | 'mistake';
  received_at: number;
}

export interface ReportMessagesTable {
  key: string;
  group_id: string | null;
  /** `abuse_ack`: an abuse desk's acknowledgement, recorded by a responder (never sent). */
  kind: 'thank_you' | 'responder_alert' | 'abuse_report' | 'abuse_ack';
  recipient: string;
  subject: string;
  body: string;
  status: 'pending' | 'sent' | 'failed' | 'draft' | 'received';
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
}

/** An idempotency key of the report webhook (migration 019), per service token, as the SHA-256 of the key. */
export interface ReportIntakeKeysTable {
  token_id: string;
  key_hash: string;
  /** SHA-256 of the first request's media type and body. */
  fingerprint: string;
  /** JSON: the first request's answer; null while it runs. */
  response: string | null;
  started_at: number;
  expires_at: number;
}
