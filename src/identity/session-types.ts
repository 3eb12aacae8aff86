import type { Database } from '../store/index.js';

/** What a session is, as the rest of Gatehouse sees it: views, rows for lists, and the feed kinds. */

/** RFC 8176 authentication method reference values Gatehouse issues. */
export type Amr = 'hwk' | 'swk' | 'pwd' | 'otp' | 'mfa' | 'user';

export interface SessionView {
  idHash: string;
  userId: string;
  email: string;
  name: string;
  groups: string[];
  amr: Amr[];
  /** Last phishing-resistant proof (WebAuthn assertion), ms; undefined for password+TOTP sessions. */
  phishingResistantAt: number | undefined;
  ip: string;
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface SessionTimeouts {
  idleMs: number;
  absoluteMs: number;
}

export interface IssueSessionInput {
  userId: string;
  amr: Amr[];
  phishingResistant: boolean;
  ip: string;
  userAgent: string;
  /** The key whose assertion created the session: removing the key ends the session. */
  credentialId?: string;
}

export interface RevokeUsersOptions {
  /** Ends only the sessions created at or after this time (ms). */
  createdSince?: number;
}

export const SESSION_FEED = {
  revoked: 'session.revoked',
  revokedUser: 'session.revoked_user',
  revokedAll: 'session.revoked_all',
  updated: 'session.updated',
  userChanged: 'user.changed',
} as const;

export interface SessionRow {
  /** A short, non-secret handle to name a session in the UI and CLI (a prefix of the hash). */
  handle: string;
  idHash: string;
  userId: string;
  amr: Amr[];
  phishingResistantAt: number | undefined;
  ip: string;
  userAgent: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  revokedAt: number | undefined;
}

export function toSessionRow(row: Database['sessions']): SessionRow {
  return {
    handle: row.id_hash.slice(0, 16),
    idHash: row.id_hash,
    userId: row.user_id,
    amr: JSON.parse(row.amr) as Amr[],
    phishingResistantAt: row.phishing_resistant_at === null ? undefined : Number(row.phishing_resistant_at),
    ip: row.ip,
    userAgent: row.user_agent,
    createdAt: Number(row.created_at),
    lastSeenAt: Number(row.last_seen_at),
    expiresAt: Number(row.expires_at),
    revokedAt: row.revoked_at === null ? undefined : Number(row.revoked_at),
  };
}
