import type { AccessIdentity, AccessRequest } from './decision.js';
import { type IpScratch, newIpScratch } from './ip-address.js';

/** RFC 8176 AMR values the selectors know, as bits, so `auth_method` is one AND. */
export const AMR_BITS = new Map<string, number>([
  ['hwk', 1],
  ['swk', 2],
  ['otp', 4],
  ['pwd', 8],
]);
/** RFC 8176 §2: hwk (hardware key) and swk (software key, e.g. a passkey) are proof-of-possession. */
export const PHISHING_RESISTANT_BITS = 1 | 2;

/**
 * Per-decision facts derived once from the request and shared by every selector (lower-cased
 * email, AMR bits, parsed address, canonical path). One context is reused by an engine across
 * decisions, which is safe because evaluation is synchronous.
 */
export class EvalContext {
  request!: AccessRequest;
  identity: AccessIdentity | undefined;
  readonly ip: IpScratch = newIpScratch();
  /** Canonical path with `;parameters` stripped; set by the engine before policies run. */
  path = '';
  private emailLower: string | undefined;
  private domainLower: string | undefined;
  private amr = -1;
  private methodUpper: string | undefined;
  /** Interned ids (policy-program.ts); -2 = not computed yet, -1 = not in any policy. */
  private emailIdValue = -2;
  private domainIdValue = -2;
  private methodIdValue = -2;
  private groupMaskReady = false;
  private readonly groupBits: Uint32Array;

  constructor(groupWords = 0) {
    this.groupBits = new Uint32Array(groupWords);
  }

  reset(request: AccessRequest): void {
    this.request = request;
    this.identity = request.identity;
    this.path = '';
    this.emailLower = undefined;
    this.domainLower = undefined;
    this.amr = -1;
    this.methodUpper = undefined;
    this.emailIdValue = -2;
    this.domainIdValue = -2;
    this.methodIdValue = -2;
    this.groupMaskReady = false;
  }

  emailId(ids: ReadonlyMap<string, number>): number {
    if (this.emailIdValue === -2) this.emailIdValue = ids.get(this.email()) ?? -1;
    return this.emailIdValue;
  }

  domainId(ids: ReadonlyMap<string, number>): number {
    if (this.domainIdValue === -2) this.domainIdValue = ids.get(this.emailDomain()) ?? -1;
    return this.domainIdValue;
  }

  methodId(ids: ReadonlyMap<string, number>): number {
    if (this.methodIdValue === -2) this.methodIdValue = ids.get(this.method()) ?? -1;
    return this.methodIdValue;
  }

  /** The user's groups as a bitset over the group names the snapshot's policies mention. */
  groupMask(ids: ReadonlyMap<string, number>): Uint32Array {
    if (!this.groupMaskReady) {
      const bits = this.groupBits;
      bits.fill(0);
      const groups = this.identity?.groups ?? [];
      for (let i = 0; i < groups.length; i++) {
        const id = ids.get(groups[i]!);
        if (id !== undefined) bits[id >>> 5] = (bits[id >>> 5]! | (1 << (id & 31))) >>> 0;
      }
      this.groupMaskReady = true;
    }
    return this.groupBits;
  }

  email(): string {
    if (this.emailLower === undefined) this.emailLower = String(this.identity?.email ?? '').toLowerCase();
    return this.emailLower;
  }

  emailDomain(): string {
    if (this.domainLower === undefined) {
      const email = this.email();
      const at = email.lastIndexOf('@');
      // No "@" means no domain: an empty string is in no configured list.
      this.domainLower = at < 0 ? '' : email.slice(at + 1);
    }
    return this.domainLower;
  }

  amrBits(): number {
    if (this.amr < 0) {
      let bits = 0;
      const amr = this.identity?.amr ?? [];
      for (let i = 0; i < amr.length; i++) bits |= AMR_BITS.get(amr[i]!) ?? 0;
      this.amr = bits;
    }
    return this.amr;
  }

  method(): string {
    if (this.methodUpper === undefined) this.methodUpper = String(this.request.method).toUpperCase();
    return this.methodUpper;
  }
}
