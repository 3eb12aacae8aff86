import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { Store } from '../store/index.js';
import type { ChallengeStore } from './challenges.js';
import type { CredentialRegistry } from './credential-registry.js';
import type { InviteBook } from './invites.js';
import type { LegacyFactors } from './legacy-factors.js';
import type { PendingCredentials } from './pending-credentials.js';
import type { SessionManager } from './sessions.js';
import type { UserDirectory } from './user-directory.js';
import type { WebauthnSettings } from './webauthn/index.js';

/** What the identity flows need from the current config snapshot. */
export interface IdentitySettings {
  webauthn: WebauthnSettings;
  inviteTtlMs: number;
  /** How long a registered key may wait for its first assertion before it is discarded. */
  pendingKeyTtlMs: number;
  /** How recent a key proof must be to add, rename or remove a key. */
  keyChangeWindowMs: number;
  legacy: { password: boolean; totp: boolean; allowDowngrade: boolean; maxFailures: number; lockoutMs: number };
  portalUrl: string;
}

/** Who is asking: recorded on sessions and audit events. */
export interface RequestContext {
  ip: string;
  userAgent: string;
}

export interface IdentityContext {
  store: Store;
  clock: Clock;
  random: Random;
  audit: AuditLog;
  users: UserDirectory;
  invites: InviteBook;
  credentials: CredentialRegistry;
  pending: PendingCredentials;
  sessions: SessionManager;
  legacy: LegacyFactors;
  challenges: ChallengeStore;
  /** The per-deployment HMAC key; a process without a KEK (CLI) has none and this throws kek_not_configured. */
  serverSecret: () => Buffer;
  settings: () => IdentitySettings;
}

/** The WebAuthn user handle (user.id) is the user's opaque id as bytes: no personal data (L3 §5.4.3). */
export function userHandleOf(userId: string): Uint8Array {
  return new Uint8Array(Buffer.from(userId, 'utf8'));
}
