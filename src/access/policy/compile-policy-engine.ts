import type { AppConfig } from '../../config/index.js';
import { compileCidrSet } from '../../lib/ip/cidr-set.js';
import { ClientAddresses } from '../../lib/ip/client-addresses.js';
import type { IpScratch } from '../../lib/ip/ip-address.js';
import { type CompiledPolicy, compilePolicy } from './compile-policy.js';
import { PENDING, YES } from './compile-selector.js';
import { type AccessRequest, type Decision, decisionOf } from './decision.js';
import { EvalContext, asText } from './eval-context.js';
import { foldPolicyPaths } from './fold-path-case.js';
import { matchedPathOf, pathRefusalOf } from './normalize-path.js';
import { ACTION_ALLOW, ACTION_BLOCK, APP_HEADER, HEADER, ProgramTables, WIDTH, nextPolicy, policyAction, runPolicy, selectorResults } from './policy-program.js';
import { ZonedWeekClocks } from '../../lib/zoned-week-clock.js';

export interface PolicyEngineOptions {
  /** The routing and policy part of each app (proxy timeouts are not the engine's business). */
  readonly apps: readonly (Pick<AppConfig, 'name' | 'host' | 'upstream' | 'policies'> & Partial<Pick<AppConfig, 'case_sensitive_paths'>>)[];
  readonly access: { readonly blocked_ips: readonly string[] };
  /**
   * Runtime block set maintained elsewhere (incident response, database change feed). It receives
   * the canonical address text: dotted IPv4 (also for IPv4-mapped IPv6) or RFC 5952 IPv6.
   */
  readonly isIpBlocked?: (ip: string) => boolean;
}

export interface CompiledApp {
  readonly name: string;
  readonly host: string;
  readonly upstream: string;
  decide(request: AccessRequest): Decision;
}

export interface PolicyEngine {
  readonly apps: readonly CompiledApp[];
  app(name: string): CompiledApp | undefined;
  /** Case-insensitive; a `:port` suffix and a trailing dot are ignored. */
  appForHost(host: string): CompiledApp | undefined;
  /** Global rules, then the named app's policies; an unknown app denies (`app_unknown`). */
  decide(appName: string, request: AccessRequest): Decision;
  decideForHost(host: string, request: AccessRequest): Decision;
}

/** Audit lines beyond this are summarised: a deny flood must not turn into a log flood. */
const MAX_REASONS = 16;
/** Blocked addresses whose deny decision is kept for reuse; addresses are client-chosen, so bounded. */
const MAX_REMEMBERED_DENIALS = 1024;
const NO_APPS: ReadonlyMap<string, number> = new Map();

/** Attacker-influenced text (X-Forwarded-For, paths) enters the audit log quoted and bounded. */
function quoted(value: unknown): string {
  const text = String(value);
  return JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);
}

export function hostKey(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith('.') ? h.slice(0, -1) : h;
}

/**
 * The hot path reads one integer per app (its offset in the snapshot-wide program, see
 * policy-program.ts) and then consecutive program memory; the compiled policy objects and their
 * prebuilt decisions sit in flat arrays by snapshot-wide policy index, touched once a policy decides.
 */
interface Snapshot {
  readonly tables: ProgramTables;
  readonly names: readonly string[];
  readonly offsets: Int32Array;
  readonly policies: readonly CompiledPolicy[];
  readonly matchedDecisions: readonly Decision[];
  readonly signInDecisions: readonly Decision[];
}

/**
 * Selector results of one policy while its misses are explained; grown for the longest policy.
 * Shared safely: it is filled and read within one explanation, which calls no caller code.
 */
let resultsScratch = new Uint8Array(64);

function explainNoMatch(k: number, snapshot: Snapshot, ctx: EvalContext): Decision {
  const { code } = snapshot.tables;
  const offset = snapshot.offsets[k]!;
  const count = code[offset]!;
  const base = code[offset + 1]!;
  const reasons = [`no_policy_matched: none of ${count} policies of app "${snapshot.names[k]}" matched`];
  let unexplained = 0;
  for (let i = 0, pc = offset + APP_HEADER; i < count; i++, pc = nextPolicy(code, pc)) {
    if (policyAction(code, pc) !== ACTION_ALLOW) continue;
    // Stop describing once the cap is reached: a deny flood must cost little, in CPU and in log.
    if (reasons.length >= MAX_REASONS) {
      unexplained++;
      continue;
    }
    const selectors = (nextPolicy(code, pc) - pc - HEADER) / WIDTH;
    if (resultsScratch.length < selectors) resultsScratch = new Uint8Array(selectors);
    const included = selectorResults(code, pc, ctx, snapshot.tables, resultsScratch);
    snapshot.policies[base + i]!.explainMiss(ctx, reasons, resultsScratch, included);
  }
  const cut = reasons.length > MAX_REASONS;
  if (cut) reasons.length = MAX_REASONS;
  if (unexplained > 0 || cut) {
    reasons[MAX_REASONS - 1] = `reasons_truncated: ${unexplained} more allow policies not explained`;
  }
  return decisionOf('deny', 'block', undefined, reasons);
}

function evaluatePolicies(k: number, snapshot: Snapshot, ctx: EvalContext): Decision {
  const tables = snapshot.tables;
  const code = tables.code;
  const offset = snapshot.offsets[k]!;
  const count = code[offset]!;
  const base = code[offset + 1]!;
  let pc = offset + APP_HEADER;
  let blockedBy = -1;
  let pendingAt = -1;
  for (let i = 0; i < count; i++) {
    const r = runPolicy(code, pc, ctx, tables);
    if (r === YES) {
      if (policyAction(code, pc) !== ACTION_BLOCK) return snapshot.matchedDecisions[base + i]!;
      blockedBy = base + i;
      break;
    }
    if (r === PENDING) {
      if (ctx.identity === undefined) return snapshot.signInDecisions[base + i]!;
      if (pendingAt < 0) pendingAt = base + i;
    }
    pc = nextPolicy(code, pc);
  }
  // With an identity, PENDING only comes from a stale auth_age: the first pending policy is exactly
  // the one that would decide after a fresh key touch, so step-up is offered only if it allows.
  const pending = pendingAt >= 0 ? snapshot.policies[pendingAt]! : undefined;
  if (pending !== undefined && pending.action === 'allow') {
    const reasons: string[] = [];
    pending.explainStepUp(ctx, reasons);
    return decisionOf('step_up', 'allow', pending.id, reasons);
  }
  if (blockedBy >= 0) return snapshot.matchedDecisions[blockedBy]!;
  return explainNoMatch(k, snapshot, ctx);
}

export function compilePolicyEngine(options: PolicyEngineOptions): PolicyEngine {
  const { apps: appConfigs, access, isIpBlocked } = options;
  const blocked = compileCidrSet(access.blocked_ips);
  const clocks = new ZonedWeekClocks();
  const tables = new ProgramTables(clocks);
  // Both forms compile the same folded patterns, so they agree on case as on everything else.
  const appPolicies = appConfigs.map((c) => (c.case_sensitive_paths === true ? c.policies : foldPolicyPaths(c.policies)));
  const caseSensitive = Uint8Array.from(appConfigs, (c) => (c.case_sensitive_paths === true ? 1 : 0));
  const offsets = Int32Array.from(appPolicies.map((p) => tables.emitApp(p)));
  tables.seal();
  const policies = appPolicies.flatMap((list) => list.map((p, i) => compilePolicy(p, i, clocks)));
  const snapshot: Snapshot = {
    tables,
    names: appConfigs.map((c) => c.name),
    offsets,
    policies,
    matchedDecisions: policies.map((p) => p.matchedDecision),
    signInDecisions: policies.map((p) => p.signInDecision),
  };
  const shared = new EvalContext(tables.groupWords);
  let sharedBusy = false;
  const addresses = new ClientAddresses();
  // Deny decisions for blocked addresses by canonical text. The block checks still run on every
  // request; only the resulting value (a fixed function of the address) is reused, so a flood from
  // blocked addresses, which is what an attack looks like, costs a lookup instead of building and
  // freezing a decision each time.
  const configDenials = new Map<string, Decision>();
  const runtimeDenials = new Map<string, Decision>();
  function denial(remembered: Map<string, Decision>, canonical: string, ip: IpScratch): Decision {
    let decision = remembered.get(canonical);
    if (decision === undefined) {
      const where = remembered === configDenials ? `access.blocked_ips ${blocked.firstMatch(ip)}` : 'the runtime block list';
      decision = decisionOf('deny', 'block', undefined, [`ip_blocked: ${canonical} in ${where}`]);
      if (remembered.size < MAX_REMEMBERED_DENIALS) remembered.set(canonical, decision);
    }
    return decision;
  }

  /**
   * `k` is the app index, or -1 when the app is to be found by `key` in `keys` (name or host key).
   * The lookup waits until the global rules have run: a blocked address needs no app, and the
   * lookup's cache misses then overlap with reading the request instead of coming before it.
   */
  function run(k: number, keys: ReadonlyMap<string, number> | undefined, key: string, request: AccessRequest): Decision {
    // Re-entry (an isIpBlocked that itself decides) gets its own context instead of corrupting ours.
    const ctx = sharedBusy ? new EvalContext(tables.groupWords) : shared;
    const owns = ctx === shared;
    if (owns) sharedBusy = true;
    try {
      ctx.reset(request);
      const rawIp = asText(request.ip);
      const canonical = addresses.read(rawIp, ctx.ip);
      if (canonical === undefined) {
        return decisionOf('deny', 'block', undefined, [`ip_invalid: client address ${quoted(rawIp)} is not IPv4 or IPv6`]);
      }
      ctx.clientText = canonical;
      // No closures in this function: one capturing `ctx` would cost a heap context per decision.
      if (blocked.size > 0 && blocked.has(ctx.ip)) return denial(configDenials, canonical, ctx.ip);
      if (isIpBlocked !== undefined && isIpBlocked(canonical)) return denial(runtimeDenials, canonical, ctx.ip);
      if (keys !== undefined) k = keys.get(key) ?? -1;
      if (k < 0) return decisionOf('deny', 'block', undefined, [`app_unknown: no app ${keys === byHost ? 'for host' : 'named'} ${quoted(key)}`]);
      const path = matchedPathOf(asText(request.path), caseSensitive[k] === 1);
      if (path === null) {
        return decisionOf('deny', 'block', undefined, [`path_invalid: ${quoted(request.path)} refused (${pathRefusalOf(asText(request.path))})`]);
      }
      ctx.path = path;
      return evaluatePolicies(k, snapshot, ctx);
    } catch (error) {
      // ARCHITECTURE.md "fail closed": a policy that cannot be evaluated denies.
      return decisionOf('deny', 'block', undefined, [`evaluation_error: ${error instanceof Error ? error.message : String(error)}`]);
    } finally {
      if (owns) sharedBusy = false;
    }
  }

  // Name and host map to the app index (kept inline in the map entry), so a decision by name
  // goes straight to the program without touching the app object.
  const byName = new Map<string, number>();
  const byHost = new Map<string, number>();
  const compiled: CompiledApp[] = appConfigs.map((config, k) => {
    const app: CompiledApp = Object.freeze({
      name: config.name,
      host: hostKey(config.host),
      upstream: config.upstream,
      decide: (request: AccessRequest) => run(k, undefined, '', request),
    });
    // Programmer misuse: the schema refuses duplicates, so a clash here is a bypassed schema.
    if (byName.has(app.name) || byHost.has(app.host)) throw new Error(`compilePolicyEngine: duplicate app ${app.name} / ${app.host}`);
    byName.set(app.name, k);
    byHost.set(app.host, k);
    return app;
  });
  const appAt = (k: number | undefined) => (k === undefined ? undefined : compiled[k]);

  return Object.freeze({
    apps: Object.freeze(compiled),
    app: (name: string) => appAt(byName.get(name)),
    appForHost: (host: string) => appAt(byHost.get(hostKey(host))),
    // The type check reads the name now, so its cache miss overlaps with reading the request; a
    // name that is not a string names no app (and is still quoted in the reason).
    decide: (appName: string, request: AccessRequest) =>
      typeof appName === 'string' ? run(-1, byName, appName, request) : run(-1, NO_APPS, String(appName), request),
    decideForHost: (host: string, request: AccessRequest) => run(-1, byHost, hostKey(host), request),
  });
}
