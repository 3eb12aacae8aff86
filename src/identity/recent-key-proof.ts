import { GatehouseError } from '../lib/errors.js';
import type { SessionView } from './sessions.js';

/**
 * Changes to what can sign in as a person (adding, renaming or removing a key; admin writes) need a
 * security-key proof made moments ago, not merely a session. A session is a bearer cookie: a relay
 * that phished a password and a TOTP code holds one, and so does anyone who stole a cookie. Without
 * this, either turns one phished code into a key of their own, and permanent phishing-resistant access.
 *
 * - `key_proof_required`: the session never had a key proof (password or password+TOTP). No prompt
 *   helps: such a session never changes keys; a user without a key gets one only through an invite.
 * - `step_up_required`: the last proof is older than the window; the page asks for a touch and retries.
 */
export interface KeyProofRefusals {
  /** The session never had a security-key proof. */
  missing: { code: string; publicMessage: string };
  /** The last proof is older than the window. */
  stale: { code: string; publicMessage: string };
}

const KEY_CHANGE_REFUSALS: KeyProofRefusals = {
  missing: { code: 'key_proof_required', publicMessage: 'Sign in with your security key or passkey to do this.' },
  stale: { code: 'step_up_required', publicMessage: 'Touch your security key again to confirm.' },
};

/**
 * Why a session may not do `action` now, or undefined when it may: the one rule behind key changes
 * and admin writes, each with its own codes. `windowMs` Infinity asks only for a key proof at all.
 */
export function keyProofRefusal(session: SessionView, now: number, windowMs: number, action: string, refusals: KeyProofRefusals = KEY_CHANGE_REFUSALS): GatehouseError | undefined {
  const provedAt = session.phishingResistantAt;
  const hasKeyProof = provedAt !== undefined && (session.amr.includes('hwk') || session.amr.includes('swk'));
  if (!hasKeyProof) {
    return new GatehouseError(refusals.missing.code, {
      status: 403,
      publicMessage: refusals.missing.publicMessage,
      detail: `${action} refused: session amr ${session.amr.join(' ')} has no security-key proof`,
    });
  }
  if (now - provedAt > windowMs) {
    return new GatehouseError(refusals.stale.code, {
      status: 403,
      publicMessage: refusals.stale.publicMessage,
      detail: `${action} refused: last key proof ${Math.round((now - provedAt) / 1000)} s ago, window ${Math.round(windowMs / 1000)} s`,
    });
  }
  return undefined;
}

export function requireRecentKeyProof(session: SessionView, now: number, windowMs: number, action: string): void {
  const refusal = keyProofRefusal(session, now, windowMs, action);
  if (refusal) throw refusal;
}
