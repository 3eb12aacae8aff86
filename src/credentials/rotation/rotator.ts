/**
 * The contract between a rotation campaign and the systems whose credentials it rotates.
 *
 * A campaign cannot close on belief: in 2023 one service token and three service-account credentials
 * that were "believed unused" were not rotated after a vendor breach, and were used to get in. So a
 * rotator does not report success, it reports evidence: after putting the new credential in place it
 * presents the OLD one to the real system and records that the system refused it. A rotator that
 * cannot show the old credential failing throws instead; the item then stays open.
 */

/** Where an external credential lives, as the inventory records it (no secret in here). */
export interface RotationTarget {
  /** The inventory item's id (stable across resumes: rotators use it as their idempotency key). */
  itemId: string;
  /** The inventory item's name, when a campaign rotates it: a sink may name its file after it. */
  name?: string;
  /** Which rotator handles it: `postgres-role`, `ssh-authorized-key`, `exec`, … */
  rotator: string;
  /** Rotator-specific coordinates, e.g. `{ role: 'billing_svc' }` or `{ host, port, user }`. */
  locator: Readonly<Record<string, string>>;
}

/** What a rotator needs besides the target: the campaign's clock and where new secrets go. */
export interface RotationContext {
  now(): number;
  /**
   * Hands the new secret to its configured sink (a file readable by the owning service, a secrets
   * manager through exec, …). The campaign never stores or logs the secret; the returned string names
   * where it went, for the report.
   */
  deliverSecret(target: RotationTarget, secret: Buffer): Promise<string>;
  /** The previous secret, when the campaign holds it (e.g. read from the sink) for the probe. */
  previousSecret?(target: RotationTarget): Promise<Buffer | undefined>;
  /**
   * Where a rotator writes the new secret ahead of changing the target (see `RotationStaging`). The
   * built-in rotators refuse to change a target without it: a crash between the change and the
   * delivery would otherwise lose the only copy of the secret that now works.
   */
  staging?: RotationStaging;
}

/**
 * A write-ahead of the new secret, readable only by Gatehouse. The target is changed only once the
 * secret is staged durably, and the staged copy is discarded only once the secret is delivered. A
 * call that finds a staged secret after a crash lets the probe decide: the previous secret still
 * logs in, so the change never happened (discard it, rotate afresh); the previous one is refused and
 * the staged one logs in, so the change took (deliver the staged one, never a third secret).
 */
export interface RotationStaging {
  /** Durably replaces any staged secret for the item with this one (on disk before it returns). */
  stage(target: RotationTarget, secret: Buffer): Promise<void>;
  /** The staged secret, byte for byte, or undefined when there is none. */
  staged(target: RotationTarget): Promise<Buffer | undefined>;
  /** Removes the staged secret; nothing to remove is not an error. */
  discard(target: RotationTarget): Promise<void>;
}

/** Proof that the old credential no longer works, taken against the real system. */
export interface RotationEvidence {
  kind: 'old_credential_refused' | 'revocation_probed';
  /** When the probe ran (ms). */
  at: number;
  /** What was tried and what the system answered, e.g. `{ probe: 'login', answer: '28P01 password authentication failed' }`. */
  detail: Readonly<Record<string, string | number | boolean>>;
}

export interface RotationOutcome {
  rotatedAt: number;
  /** Where the new secret was delivered (from `deliverSecret`), or `none` for a revocation. */
  deliveredTo: string;
  evidence: RotationEvidence;
}

export interface Rotator {
  readonly name: string;
  /** Checks a target's locator before a campaign starts; returns a problem or undefined. */
  validate(target: RotationTarget): string | undefined;
  /**
   * Rotates and probes. Must be safe to call again for the same item after a crash at any point (the
   * campaign resumes items that have no evidence yet): a second call never assumes the first one took,
   * the probe decides. A rotator that changes the target before delivering stages the new secret
   * first (`RotationContext.staging`), so a crash in between leaves a secret that can still be delivered.
   */
  rotate(target: RotationTarget, context: RotationContext): Promise<RotationOutcome>;
  /** Revokes without a replacement (an item believed unused) and probes that the old one fails. */
  revoke(target: RotationTarget, context: RotationContext): Promise<RotationOutcome>;
}
