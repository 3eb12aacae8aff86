import type { AccessIdentity, AccessRequest, AccessServiceToken } from './decision.js';
import { type IpScratch, newIpScratch } from '../../lib/ip/ip-address.js';

/** RFC 8176 AMR values the selectors know, as bits, so `auth_method` is one AND. */
export const AMR_BITS = new Map<string, number>([
  ['hwk', 1],
  ['swk', 2],
  ['otp', 4],
  ['pwd', 8],
]);
/** RFC 8176 §2: hwk (hardware key) and swk (software key, e.g. a passkey) are proof-of-possession. */
export const PHISHING_RESISTANT_BITS = 1 | 2;

const NO_GROUPS: readonly string[] = [];

/** The text of a request field: strings pass as they are, without a call into String(). */
export function asText(value: unknown): string {
  return typeof value === 'string' ? value : String(value);
}

/** AMR_BITS as string comparisons: a session carries one or two values, a Map lookup each is dearer. */
function amrBit(value: string): number {
  switch (value) {
    case 'hwk':
      return 1;
    case 'swk':
      return 2;
    case 'otp':
      return 4;
    case 'pwd':
      return 8;
    default:
      return 0;
  }
}

export interface EmailIds {
  readonly email: number;
  readonly domain: number;
}

/**
 * Where the request's identity strings are looked up. Implemented by the snapshot's program
 * tables (policy-program.ts), which keep the answers per distinct string.
 */
export interface IdentityInterning {
  /**
   * Interned ids of the lower-cased email and of its domain (after the last "@"), -1 when no
   * policy lists them.
   */
  idsOfEmail(email: string): EmailIds;
  /** Interned id of the upper-cased method, -1 when no policy lists it. */
  methodIdOf(method: string): number;
  readonly groupIds: ReadonlyMap<string, number>;
  /** Interned ids of service token names and tags, -1 (absent) when no policy lists them. */
  readonly tokenNameIds: ReadonlyMap<string, number>;
  readonly tokenTagIds: ReadonlyMap<string, number>;
}

/**
 * Per-decision facts derived once from the request and shared by every selector (lower-cased
 * email, AMR bits, parsed address, canonical path). One context is reused by an engine across
 * decisions, which is safe because evaluation is synchronous.
 */
export class EvalContext {
  request!: AccessRequest;
  identity: AccessIdentity | undefined;
  serviceToken: AccessServiceToken | undefined;
  /**
   * What an identity selector answers without a signed-in user: PENDING (signing in may satisfy it)
   * for an anonymous request, NO for a service token (a machine cannot sign in, and a token must never
   * stand in for a person).
   */
  noIdentity: 0 | 2 = 2;
  private groups: readonly string[] = NO_GROUPS;
  readonly ip: IpScratch = newIpScratch();
  /** matchedPathOf (normalize-path.ts): canonical, case-folded unless the app compares case; set by the engine before policies run. */
  path = '';
  /** Request time, read once: every time-based selector of the decision sees the same instant. */
  now = 0;
  private emailLower: string | undefined;
  private domainLower: string | undefined;
  private amr = -1;
  private methodUpper: string | undefined;
  /** Interned ids (policy-program.ts); undefined or -2 = not computed yet, -1 = not in any policy. */
  private emailIds: EmailIds | undefined;
  private methodIdValue = -2;
  private groupMaskReady = false;
  private readonly groupBits: Uint32Array;
  /** Request-side audit text, written by the first miss line that needs it (compile-selector.ts). */
  groupsText: string | undefined;
  amrText: string | undefined;
  clientText: string | undefined;

  constructor(groupWords = 0) {
    this.groupBits = new Uint32Array(groupWords);
  }

  reset(request: AccessRequest): void {
    this.request = request;
    const identity = request.identity;
    this.identity = identity;
    const serviceToken = identity === undefined ? request.serviceToken : undefined;
    this.serviceToken = serviceToken;
    this.noIdentity = serviceToken === undefined ? 2 : 0;
    // Read the identity's lines now: their cache misses then overlap with parsing the address and
    // path instead of stalling the first identity selector.
    this.groups = identity?.groups ?? NO_GROUPS;
    this.now = request.now;
    this.path = '';
    this.emailLower = undefined;
    this.domainLower = undefined;
    this.amr = -1;
    this.methodUpper = undefined;
    this.emailIds = undefined;
    this.methodIdValue = -2;
    this.groupMaskReady = false;
    this.groupsText = undefined;
    this.amrText = undefined;
    this.clientText = undefined;
  }

  emailId(ids: IdentityInterning): number {
    return (this.emailIds ??= ids.idsOfEmail(asText(this.identity?.email ?? ''))).email;
  }

  domainId(ids: IdentityInterning): number {
    return (this.emailIds ??= ids.idsOfEmail(asText(this.identity?.email ?? ''))).domain;
  }

  methodId(ids: IdentityInterning): number {
    if (this.methodIdValue === -2) this.methodIdValue = ids.methodIdOf(asText(this.request.method));
    return this.methodIdValue;
  }

  /** The user's groups as a bitset over the group names the snapshot's policies mention. */
  groupMask(ids: ReadonlyMap<string, number>): Uint32Array {
    if (!this.groupMaskReady) {
      const bits = this.groupBits;
      // A loop, not fill(): the set is a word or two, and fill() is a call into the runtime.
      for (let w = 0; w < bits.length; w++) bits[w] = 0;
      const groups = this.groups;
      for (let i = 0; i < groups.length; i++) {
        const id = ids.get(groups[i]!);
        if (id !== undefined) bits[id >>> 5] = (bits[id >>> 5]! | (1 << (id & 31))) >>> 0;
      }
      this.groupMaskReady = true;
    }
    return this.groupBits;
  }

  /** Whether the request's service token has one of the interned names / tags (ids) a selector lists. */
  tokenNameId(ids: IdentityInterning): number {
    const token = this.serviceToken;
    return token === undefined ? -1 : (ids.tokenNameIds.get(asText(token.name)) ?? -1);
  }

  tokenTags(): readonly string[] {
    return this.serviceToken?.tags ?? NO_GROUPS;
  }

  email(): string {
    if (this.emailLower === undefined) this.emailLower = asText(this.identity?.email ?? '').toLowerCase();
    return this.emailLower;
  }

  emailDomain(): string {
    if (this.domainLower === undefined) this.domainLower = emailDomainOf(this.email());
    return this.domainLower;
  }

  amrBits(): number {
    if (this.amr < 0) {
      let bits = 0;
      const amr = this.identity?.amr ?? [];
      for (let i = 0; i < amr.length; i++) bits |= amrBit(amr[i]!);
      this.amr = bits;
    }
    return this.amr;
  }

  method(): string {
    if (this.methodUpper === undefined) this.methodUpper = asText(this.request.method).toUpperCase();
    return this.methodUpper;
  }
}

/** The domain after the last "@" of a lower-cased email; no "@" means no domain, and "" is in no list. */
export function emailDomainOf(emailLower: string): string {
  const at = emailLower.lastIndexOf('@');
  return at < 0 ? '' : emailLower.slice(at + 1);
}
