import type { PolicyConfig, SelectorConfig, TimeWindowConfig } from '../../config/index.js';
import { type CidrSet, compileCidrSet } from '../../lib/ip/cidr-set.js';
import { NO, PENDING, type Tri, YES } from './compile-selector.js';
import { AMR_BITS, type EmailIds, type EvalContext, type IdentityInterning, PHISHING_RESISTANT_BITS, emailDomainOf } from './eval-context.js';
import { type PathMatcher, compilePathMatcher } from '../../lib/path-pattern.js';
import { DAY_NAMES, type WeekMinuteOf, type ZonedWeekClocks } from '../../lib/zoned-week-clock.js';

/**
 * The hot-path form of a snapshot's policies: every app's policies flattened into one Int32Array
 * of fixed-width instructions, with strings interned to numbers once per snapshot. Evaluating a
 * policy is then a loop over integers and one switch: no closure calls, no string hashing per
 * selector, and the memory one decision touches is a few contiguous cache lines, which is what
 * matters with thousands of apps whose policies cannot all stay in cache.
 *
 * Layout per app: [policyCount, index of its first policy in the snapshot, then its policies];
 * per policy: [nInclude | nRequire << 16, nExclude | action << 16, then 2 ints per selector:
 * opcode | b << 4, a]. An app's decision reads its policies front to back from one offset, so
 * the memory it touches is consecutive and small (a few cache lines for a typical app).
 *
 * The closure form in compile-selector.ts states the same semantics readably and writes the
 * audit detail; policy-properties.test.ts checks that both always agree, per policy and per
 * selector.
 */

const OP_EVERYONE = 1;
const OP_EMAIL = 2; // a,b: offset and count of sorted email ids in idPool
const OP_DOMAIN = 3; // a,b: sorted domain ids in idPool
const OP_GROUP = 4; // a,b: offset and count of (word, mask) pairs in groupPool
const OP_IP = 5; // a: index into cidrSets
const OP_AUTH_METHOD = 6; // a: AMR bit mask
const OP_AUTH_AGE = 7; // a: maximum age in minutes
const OP_TIME = 8; // a: index into timeWindows
const OP_METHOD = 9; // a,b: sorted method ids in idPool
const OP_PATH = 10; // a: index into pathMatchers
const OP_SERVICE_TOKEN = 11; // a,b: sorted token name ids in idPool
const OP_SERVICE_TOKEN_TAG = 12; // a,b: sorted token tag ids in idPool

export const HEADER = 2;
export const WIDTH = 2;
export const APP_HEADER = 2;
/** Largest include, require or exclude list one policy header can count (16 bits). */
export const MAX_SELECTORS_PER_LIST = 0xffff;
/** Largest operand count (`b`) one instruction can hold (27 bits). */
const MAX_OPERAND_COUNT = 0x7ffffff;

export const ACTION_ALLOW = 0;
export const ACTION_BLOCK = 1;
export const ACTION_BYPASS = 2;
const ACTION_CODES = { allow: ACTION_ALLOW, block: ACTION_BLOCK, bypass: ACTION_BYPASS } as const;

/** Appends one instruction: opcode and count share a word, the operand offset takes the other. */
function instruction(out: number[], op: number, a: number, b: number): void {
  // Config beyond these sizes is refused at compile time rather than silently truncated.
  if (b > MAX_OPERAND_COUNT) throw new Error(`policy program: a selector list of ${b} values is larger than ${MAX_OPERAND_COUNT}`);
  out.push(op | (b << 4), a);
}

/**
 * Distinct identity strings remembered per snapshot. Emails come from sessions, so this bounds
 * memory, not an attacker; methods are client-chosen tokens, so few are kept.
 */
const MAX_CACHED_EMAILS = 65_536;
const MAX_CACHED_METHODS = 64;


interface TimeWindow {
  readonly open: Uint8Array;
  readonly weekMinuteOf: WeekMinuteOf;
}

function intern(map: Map<string, number>, key: string): number {
  let id = map.get(key);
  if (id === undefined) {
    id = map.size;
    map.set(key, id);
  }
  return id;
}

/** Interning tables and operand pools shared by every app of one snapshot. */
export class ProgramTables implements IdentityInterning {
  readonly emailIds = new Map<string, number>();
  readonly domainIds = new Map<string, number>();
  readonly groupIds = new Map<string, number>();
  readonly methodIds = new Map<string, number>();
  readonly tokenNameIds = new Map<string, number>();
  readonly tokenTagIds = new Map<string, number>();
  readonly cidrSets: CidrSet[] = [];
  readonly timeWindows: TimeWindow[] = [];
  readonly pathMatchers: PathMatcher[] = [];
  /** Identical operands (the same office CIDRs or group list in many apps) are stored once, so they stay in cache. */
  private readonly operandByKey = new Map<string, number>();
  private readonly timeByKey = new Map<string, number>();
  private readonly ids: number[] = [];
  private readonly groups: number[] = [];
  private readonly program: number[] = [];
  private readonly policyStarts: number[] = [];
  /** 16-bit when every id fits (it halves the pool, which the email lists make the largest part). */
  idPool: Uint16Array | Int32Array = new Uint16Array(0);
  groupPool = new Int32Array(0);
  /** Every app's policies, back to back. */
  code = new Int32Array(0);
  /** Offset in `code` of each policy, by snapshot-wide policy index (tests and tools; the hot path walks). */
  starts = new Int32Array(0);
  /** Raw email text -> ids of its lower-cased form and domain: a returning user costs one lookup, no lower-casing. */
  private readonly idsByEmail = new Map<string, EmailIds>();
  private readonly methodIdByRaw = new Map<string, number>();

  constructor(private readonly clocks: ZonedWeekClocks) {}

  private shared(key: string, make: () => number): number {
    let index = this.operandByKey.get(key);
    if (index === undefined) {
      index = make();
      this.operandByKey.set(key, index);
    }
    return index;
  }

  private idList(kind: string, map: Map<string, number>, values: readonly string[]): [number, number] {
    const sorted = [...new Set(values.map((v) => intern(map, v)))].sort((x, y) => x - y);
    const offset = this.shared(`${kind}:${sorted.join(',')}`, () => {
      const at = this.ids.length;
      this.ids.push(...sorted);
      return at;
    });
    return [offset, sorted.length];
  }

  private timeWindow(window: TimeWindowConfig): number {
    const key = JSON.stringify([window.days, window.hours, window.time_zone]);
    let index = this.timeByKey.get(key);
    if (index !== undefined) return index;
    // Bitset over the 7 * 1440 minutes of a week, shared by identical windows.
    const open = new Uint8Array(7 * 1440);
    for (const day of window.days) {
      const d = DAY_NAMES.indexOf(day);
      for (const range of window.hours) {
        const [from, to] = range.split('-').map((hm) => (hm === '24:00' ? 1440 : Number(hm.slice(0, 2)) * 60 + Number(hm.slice(3)))) as [number, number];
        open.fill(1, d * 1440 + from, d * 1440 + to);
      }
    }
    index = this.timeWindows.push({ open, weekMinuteOf: this.clocks.for(window.time_zone) }) - 1;
    this.timeByKey.set(key, index);
    return index;
  }

  /** Appends one selector's 3-int instruction. */
  emit(selector: SelectorConfig, out: number[]): void {
    if (selector.everyone) instruction(out, OP_EVERYONE, 0, 0);
    else if (selector.email) instruction(out, OP_EMAIL, ...this.idList('email', this.emailIds, selector.email));
    else if (selector.email_domain) instruction(out, OP_DOMAIN, ...this.idList('domain', this.domainIds, selector.email_domain));
    else if (selector.group) {
      const masks = new Map<number, number>();
      for (const g of selector.group) {
        const id = intern(this.groupIds, g);
        masks.set(id >>> 5, ((masks.get(id >>> 5) ?? 0) | (1 << (id & 31))) >>> 0);
      }
      const pairs = [...masks].sort((x, y) => x[0] - y[0]).flat();
      const offset = this.shared(`group:${pairs.join(',')}`, () => {
        const at = this.groups.length;
        for (const v of pairs) this.groups.push(v | 0);
        return at;
      });
      instruction(out, OP_GROUP, offset, masks.size);
    } else if (selector.ip) {
      const ip = selector.ip;
      instruction(out, OP_IP, this.shared(`ip:${JSON.stringify([...ip].sort())}`, () => this.cidrSets.push(compileCidrSet(ip)) - 1), 0);
    }
    else if (selector.auth_method) {
      let mask = 0;
      for (const m of selector.auth_method) mask |= m === 'phishing_resistant' ? PHISHING_RESISTANT_BITS : (AMR_BITS.get(m) ?? 0);
      instruction(out, OP_AUTH_METHOD, mask, 0);
    } else if (selector.auth_age !== undefined) instruction(out, OP_AUTH_AGE, selector.auth_age, 0);
    else if (selector.time) instruction(out, OP_TIME, this.timeWindow(selector.time), 0);
    else if (selector.method) instruction(out, OP_METHOD, ...this.idList('method', this.methodIds, selector.method));
    else if (selector.path) {
      const path = selector.path;
      instruction(out, OP_PATH, this.shared(`path:${JSON.stringify(path)}`, () => this.pathMatchers.push(compilePathMatcher(path)) - 1), 0);
    }
    else if (selector.service_token) instruction(out, OP_SERVICE_TOKEN, ...this.idList('token', this.tokenNameIds, selector.service_token));
    else if (selector.service_token_tag) instruction(out, OP_SERVICE_TOKEN_TAG, ...this.idList('token_tag', this.tokenTagIds, selector.service_token_tag));
    else throw new Error(`policy program: no known selector in ${JSON.stringify(Object.keys(selector))}`);
  }

  /**
   * Appends an app's policies; returns the app's offset in `code`. Its policies get the
   * snapshot-wide indexes `code[offset + 1]` onwards (the index into `starts`).
   */
  emitApp(policies: readonly PolicyConfig[]): number {
    const offset = this.program.length;
    this.program.push(policies.length, this.policyStarts.length);
    for (const p of policies) this.policyStarts.push(this.emitPolicy(p, this.program));
    return offset;
  }

  private emitPolicy(policy: PolicyConfig, out: number[]): number {
    const start = out.length;
    for (const list of [policy.include, policy.require, policy.exclude]) {
      if (list.length > MAX_SELECTORS_PER_LIST) throw new Error(`policy program: a policy list of ${list.length} selectors is longer than ${MAX_SELECTORS_PER_LIST}`);
    }
    out.push(policy.include.length | (policy.require.length << 16), policy.exclude.length | (ACTION_CODES[policy.action] << 16));
    for (const s of policy.include) this.emit(s, out);
    for (const s of policy.require) this.emit(s, out);
    for (const s of policy.exclude) this.emit(s, out);
    return start;
  }

  /** Offset in `code` of policy `i` of the app emitted at `appOffset`. */
  policyStart(appOffset: number, i: number): number {
    return this.starts[this.program[appOffset + 1]! + i]!;
  }

  /** Freezes the pools once every app has been emitted. */
  seal(): void {
    this.idPool = this.ids.every((id) => id <= 0xffff) ? Uint16Array.from(this.ids) : Int32Array.from(this.ids);
    this.groupPool = Int32Array.from(this.groups);
    this.code = Int32Array.from(this.program);
    this.starts = Int32Array.from(this.policyStarts);
    // Answers given before the last emit may miss ids interned since.
    this.idsByEmail.clear();
    this.methodIdByRaw.clear();
  }

  idsOfEmail(email: string): EmailIds {
    let ids = this.idsByEmail.get(email);
    if (ids === undefined) {
      const lower = email.toLowerCase();
      ids = { email: this.emailIds.get(lower) ?? -1, domain: this.domainIds.get(emailDomainOf(lower)) ?? -1 };
      if (this.idsByEmail.size >= MAX_CACHED_EMAILS) this.idsByEmail.clear();
      this.idsByEmail.set(email, ids);
    }
    return ids;
  }

  methodIdOf(method: string): number {
    let id = this.methodIdByRaw.get(method);
    if (id === undefined) {
      id = this.methodIds.get(method.toUpperCase()) ?? -1;
      if (this.methodIdByRaw.size < MAX_CACHED_METHODS) this.methodIdByRaw.set(method, id);
    }
    return id;
  }

  get groupWords(): number {
    return Math.ceil(this.groupIds.size / 32);
  }
}

function inIdList(pool: Uint16Array | Int32Array, offset: number, count: number, id: number): boolean {
  if (id < 0) return false;
  let lo = offset;
  let hi = offset + count - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = pool[mid]!;
    if (v === id) return true;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

function runSelector(op: number, a: number, b: number, ctx: EvalContext, t: ProgramTables): Tri {
  switch (op) {
    case OP_EVERYONE:
      return YES;
    case OP_EMAIL:
      if (ctx.identity === undefined) return ctx.noIdentity;
      return inIdList(t.idPool, a, b, ctx.emailId(t)) ? YES : NO;
    case OP_DOMAIN:
      if (ctx.identity === undefined) return ctx.noIdentity;
      return inIdList(t.idPool, a, b, ctx.domainId(t)) ? YES : NO;
    case OP_GROUP: {
      if (ctx.identity === undefined) return ctx.noIdentity;
      const mask = ctx.groupMask(t.groupIds);
      const pool = t.groupPool;
      for (let i = a, end = a + 2 * b; i < end; i += 2) if ((mask[pool[i]!]! & pool[i + 1]!) !== 0) return YES;
      return NO;
    }
    case OP_IP:
      return t.cidrSets[a]!.has(ctx.ip) ? YES : NO;
    case OP_AUTH_METHOD:
      if (ctx.identity === undefined) return ctx.noIdentity;
      return (ctx.amrBits() & a) !== 0 ? YES : NO;
    case OP_AUTH_AGE: {
      if (ctx.identity === undefined) return ctx.noIdentity;
      const at = ctx.identity.phishingResistantAt;
      // A proof time in the future (clock skew between instances) counts as fresh.
      return at !== undefined && Number.isFinite(at) && ctx.now - at <= a * 60_000 ? YES : PENDING;
    }
    case OP_TIME: {
      const w = t.timeWindows[a]!;
      const m = w.weekMinuteOf(ctx.now);
      return m >= 0 && w.open[m] === 1 ? YES : NO;
    }
    case OP_METHOD:
      return inIdList(t.idPool, a, b, ctx.methodId(t)) ? YES : NO;
    case OP_PATH:
      return t.pathMatchers[a]!(ctx.path) ? YES : NO;
    case OP_SERVICE_TOKEN:
      return inIdList(t.idPool, a, b, ctx.tokenNameId(t)) ? YES : NO;
    case OP_SERVICE_TOKEN_TAG: {
      const tags = ctx.tokenTags();
      for (let i = 0; i < tags.length; i++) if (inIdList(t.idPool, a, b, t.tokenTagIds.get(tags[i]!) ?? -1)) return YES;
      return NO;
    }
    default:
      throw new Error(`policy program: bad opcode ${op}`);
  }
}

/** Three-valued match of the policy starting at `pc` (see compile-selector.ts for the logic). */
export function runPolicy(code: Int32Array, pc: number, ctx: EvalContext, t: ProgramTables): Tri {
  const counts = code[pc]!;
  const nInclude = counts & 0xffff;
  const nRequire = counts >>> 16;
  const nExclude = code[pc + 1]! & 0xffff;
  let p = pc + HEADER;
  let result: Tri = NO;
  for (let i = 0; i < nInclude; i++, p += WIDTH) {
    const op = code[p]!;
    const r = runSelector(op & 15, code[p + 1]!, op >>> 4, ctx, t);
    if (r === YES) {
      result = YES;
      break;
    }
    if (r === PENDING) result = PENDING;
  }
  if (result === NO) return NO;
  p = pc + HEADER + nInclude * WIDTH;
  for (let i = 0; i < nRequire; i++, p += WIDTH) {
    const op = code[p]!;
    const r = runSelector(op & 15, code[p + 1]!, op >>> 4, ctx, t);
    if (r === NO) return NO;
    if (r === PENDING) result = PENDING;
  }
  for (let i = 0; i < nExclude; i++, p += WIDTH) {
    const op = code[p]!;
    const r = runSelector(op & 15, code[p + 1]!, op >>> 4, ctx, t);
    if (r === YES) return NO;
    if (r === PENDING) result = PENDING;
  }
  // An allow always needs a user: anonymous access is what `bypass` is for, and says so; or a
  // service token named by one of the policy's own include/require token selectors.
  if (policyAction(code, pc) === ACTION_ALLOW && ctx.identity === undefined) {
    if (ctx.serviceToken === undefined) return PENDING;
    return result === YES && tokenNamed(code, pc, nInclude + nRequire, ctx, t) ? YES : NO;
  }
  return result;
}

/** Whether a `service_token*` selector among the first `n` (include and require) of the policy at `pc` says YES. */
function tokenNamed(code: Int32Array, pc: number, n: number, ctx: EvalContext, t: ProgramTables): boolean {
  for (let i = 0, p = pc + HEADER; i < n; i++, p += WIDTH) {
    const op = code[p]!;
    const kind = op & 15;
    if ((kind === OP_SERVICE_TOKEN || kind === OP_SERVICE_TOKEN_TAG) && runSelector(kind, code[p + 1]!, op >>> 4, ctx, t) === YES) return true;
  }
  return false;
}

/**
 * Each selector's result for the policy at `pc`, in config order (include, require, exclude), for
 * the audit lines of a deny: include is read up to its first YES, and require and exclude only
 * when one did, exactly the selectors the explanation describes. Returns whether include matched.
 */
export function selectorResults(code: Int32Array, pc: number, ctx: EvalContext, t: ProgramTables, out: Uint8Array): boolean {
  const counts = code[pc]!;
  const nInclude = counts & 0xffff;
  const total = nInclude + (counts >>> 16) + (code[pc + 1]! & 0xffff);
  let included = false;
  let p = pc + HEADER;
  for (let j = 0; j < nInclude && !included; j++, p += WIDTH) {
    const op = code[p]!;
    out[j] = runSelector(op & 15, code[p + 1]!, op >>> 4, ctx, t);
    included = out[j] === YES;
  }
  if (!included) return false;
  p = pc + HEADER + nInclude * WIDTH;
  for (let j = nInclude; j < total; j++, p += WIDTH) {
    const op = code[p]!;
    out[j] = runSelector(op & 15, code[p + 1]!, op >>> 4, ctx, t);
  }
  return true;
}

/** ACTION_ALLOW, ACTION_BLOCK or ACTION_BYPASS of the policy at `pc`. */
export function policyAction(code: Int32Array, pc: number): number {
  return code[pc + 1]! >>> 16;
}

/** Offset of the policy after the one at `pc`. */
export function nextPolicy(code: Int32Array, pc: number): number {
  const counts = code[pc]!;
  return pc + HEADER + WIDTH * ((counts & 0xffff) + (counts >>> 16) + (code[pc + 1]! & 0xffff));
}
