/**
 * One DNS query from bytes in to bytes out, shared by the UDP, TCP and DoH front ends:
 * parse -> client policy -> dynamic blocks -> allowlist -> blocklists -> verdict hook -> cache ->
 * upstream. Blocked names, cache hits and errors are answered synchronously (no Promise on the hot
 * path); only the verdict hook's slow path and cache misses return a Promise. A question answered
 * before is served from the hot-answer table (hot-answers.ts) without running the pipeline again.
 * When every upstream fails, an expired answer is served stale (RFC 8767); when none replied at all,
 * further misses are answered at once for a hold-down instead of each waiting out every timeout.
 * Longer than most files because the pipeline reads best in one place.
 */
import type { Clock } from '../lib/clock.js';
import type { BlocklistStore } from './blocklist-store.js';
import type { ClientPolicy, ClientPolicyTable } from './client-policies.js';
import type { MemoryUse } from './byte-budget-lru.js';
import { MAX_LABELS, type DomainHasher } from './domain-hash.js';
import type { DnsMetrics } from './gateway-metrics.js';
import { HotAnswer, HotAnswerTable } from './hot-answers.js';
import {
  newCacheEntry, renderCachedReply, renderStaleReply, toCacheEntry, writeReply, type CacheEntry, type CacheLimits, type ResponseCache,
} from './response-cache.js';
import { publicBlockText } from './public-block-text.js';
import { UpstreamsFailedError, type ForwardResult, type UpstreamForwarder } from './upstream-forwarder.js';
import { VerdictMemoTable, type VerdictMemo } from './verdict-memo.js';
import type { ClassifyHook, ClientContext, QueryLogEntry, QueryLogSink, QueryOutcome, Verdict } from './verdict.js';
import { typeName } from './verdict.js';
import {
  CLASS_IN, RCODE_BADVERS, RCODE_FORMERR, RCODE_NOTIMP, RCODE_NXDOMAIN, RCODE_REFUSED, RCODE_SERVFAIL,
  TYPE_A, TYPE_AAAA, emptyParsedQuery, readQuery, type ParsedQuery,
} from './wire-query.js';
import {
  EDE_BLOCKED, EDE_NO_REACHABLE_AUTHORITY, EDE_STALE_ANSWER, buildAddressReply, buildEmptyReply, encodeOptPair, encodeOptRecord, optFor, type ExtendedError, type OptPair, type ReplyBase,
} from './wire-response.js';

export interface QueryContext {
  address: string;
  protocol: 'udp' | 'tcp' | 'doh';
  user?: string;
  /** Forces a policy (per-user DoH); otherwise chosen from the address. */
  policy?: ClientPolicy;
}

export interface QueryHandlerOptions {
  store: BlocklistStore;
  policies: ClientPolicyTable;
  cache: ResponseCache;
  cacheLimits: CacheLimits;
  forwarder: UpstreamForwarder;
  hasher: DomainHasher;
  metrics: DnsMetrics;
  clock: Clock;
  /** Monotonic milliseconds for latency figures. */
  monotonicMs: () => number;
  maxUdpPayload: number;
  blockTtlS: number;
  blockPage: { ipv4?: Buffer; ipv6?: Buffer };
  classify?: ClassifyHook;
  classifyBudgetMs: number;
  onClassifyTimeout: 'allow' | 'block';
  verdictCacheTtlMs: number;
  /** Accounted bytes for the hot answers and the verdict memo (memory-budget.ts); unbounded when absent. */
  hotAnswerBytes?: number;
  verdictMemoBytes?: number;
  /** Milliseconds misses are answered at once after a query got no reply from any upstream; 0 or absent = never. */
  upstreamHoldDownMs?: number;
  /** The query log; receives every query, answered or not. */
  queryLog?: QueryLogSink;
  /** Also receives every query, as an object (tests). */
  onQuery?: (entry: QueryLogEntry) => void;
  onHookError?: (where: string, error: unknown) => void;
}

type Reply = Buffer | null;

interface BlockDecision {
  kind: string;
  ede: ExtendedError;
  /** The OPT record carrying `ede`, without and with DO, encoded on first use (list decisions are reused). */
  opt?: Buffer;
  optDo?: Buffer;
}

const VERDICT_MEMO_LIMIT = 50_000;
const TCP_LIMIT = 65535;
/** RFC 8767 §4: TTL of records served stale, short so clients soon ask again. */
const STALE_TTL_S = 30;

export class QueryHandler {
  private readonly scratch = Buffer.alloc(256);
  private readonly suffixes = new Uint32Array(2 * MAX_LABELS);
  private readonly inflight = new Map<string, Promise<CacheEntry>>();
  private readonly verdictMemo: VerdictMemoTable;
  private readonly hot: HotAnswerTable;
  /** Filled in place for each query; copied (with its name) only when the query leaves the hot path. */
  private readonly current = emptyParsedQuery();
  private readonly plainOpt: OptPair;
  /** One decision per blocklist source (names are fixed for the handler's lifetime), indexed like `store.sources`. */
  private readonly listBlocks: BlockDecision[];
  /** OPT records with EDE 3 Stale Answer and EDE 22 No Reachable Authority. */
  private readonly staleOpt: OptPair;
  private readonly unreachableOpt: OptPair;
  /** Clock time until which misses are answered without asking the upstreams (hold-down). */
  private upstreamsDownUntil = 0;
  /** Upstream answers received so far: a failed query compares it to tell whether anyone got a reply meanwhile. */
  private upstreamAnswers = 0;

  private readonly logging: boolean;

  constructor(private readonly o: QueryHandlerOptions) {
    this.logging = o.queryLog !== undefined || o.onQuery !== undefined;
    this.plainOpt = encodeOptPair(o.maxUdpPayload);
    this.hot = new HotAnswerTable(o.cacheLimits.maxEntries, o.hasher, o.hotAnswerBytes);
    this.verdictMemo = new VerdictMemoTable(o.verdictMemoBytes ?? Infinity, VERDICT_MEMO_LIMIT);
    const stale: ExtendedError = { infoCode: EDE_STALE_ANSWER, text: 'upstream resolvers failed; answer from an expired cache entry' };
    const unreachable: ExtendedError = { infoCode: EDE_NO_REACHABLE_AUTHORITY, text: 'no upstream resolver replied' };
    this.staleOpt = encodeOptPair(o.maxUdpPayload, stale);
    this.unreachableOpt = encodeOptPair(o.maxUdpPayload, unreachable);
    this.listBlocks = o.store.sources.map((source) => ({
      kind: `blocklist:${source.name}`, ede: { infoCode: source.infoCode, text: `on blocklist ${source.name}` },
    }));
  }

  /** Forgets hook verdicts and the decisions built on them (lists or dynamic blocks changed). */
  clearVerdicts(): void {
    this.verdictMemo.clear();
    this.hot.clear();
  }

  /** Questions answerable from the hot-answer table (for tests and metrics). */
  get hotAnswers(): number {
    return this.hot.size;
  }

  memoryUse(): { hotAnswers: MemoryUse; verdictMemo: MemoryUse } {
    return { hotAnswers: this.hot.memoryUse(), verdictMemo: this.verdictMemo.memoryUse() };
  }

  handle(msg: Buffer, ctx: QueryContext): Reply | Promise<Reply> {
    // Latency is only ever read by the query log; without one, the clock read is skipped.
    const started = this.logging ? this.o.monotonicMs() : 0;
    const metrics = this.o.metrics;
    metrics.queries[ctx.protocol]++;
    const query = this.current;
    const failure = readQuery(msg, this.scratch, query);
    if (failure !== null) {
      if (failure.failure === 'drop') {
        metrics.dropped++;
        return null;
      }
      const base: ReplyBase = { query: msg, id: failure.id, flags: failure.flags };
      if (failure.questionEnd !== undefined) base.questionEnd = failure.questionEnd;
      if (failure.failure === 'badvers') {
        metrics.badvers++;
        base.opt = encodeOptRecord({ udpPayload: this.o.maxUdpPayload, extendedRcode: RCODE_BADVERS });
        return buildEmptyReply(base, RCODE_BADVERS);
      }
      if (failure.failure === 'notimp') {
        metrics.notimp++;
        // RFC 6891 §7: a request with OPT gets a reply with OPT, errors included.
        if (failure.edns) base.opt = optFor(this.plainOpt, failure);
        return buildEmptyReply(base, RCODE_NOTIMP);
      }
      metrics.formerr++;
      return buildEmptyReply(base, RCODE_FORMERR);
    }

    const policy = ctx.policy ?? this.o.policies.forAddress(ctx.address);
    if (policy.mode !== 'refuse' && query.qclass === CLASS_IN && ctx.user === undefined) {
      const now = this.o.clock.now();
      const hot = this.hot.find(policy, this.scratch, query.nameLength, msg, query.questionEnd, query.qtype, query.dnssecOk, now);
      if (hot !== undefined) return this.answerHot(hot, msg, query, ctx, policy, now, started);
    }

    // Leaving the hot path: the query may wait on the hook or the upstream, so it gets its own copy.
    const parsed: ParsedQuery = {
      id: query.id, flags: query.flags, qtype: query.qtype, qclass: query.qclass, questionEnd: query.questionEnd,
      name: query.nameLength === 0 ? '' : this.scratch.toString('latin1', 0, query.nameLength), nameLength: query.nameLength,
      edns: query.edns, udpSize: query.udpSize, dnssecOk: query.dnssecOk,
    };
    if (policy.mode === 'refuse' || parsed.qclass !== CLASS_IN) {
      metrics.refused++;
      this.log(ctx, policy, parsed, 'refused', policy.mode === 'refuse' ? 'policy_refuse' : 'class_not_in', false, RCODE_REFUSED, started);
      return buildEmptyReply(this.base(msg, parsed), RCODE_REFUSED);
    }
    if (policy.mode === 'passthrough') return this.resolve(msg, parsed, ctx, policy, 'allow', 'passthrough', started, Infinity);

    const store = this.o.store;
    const count = this.o.hasher.hashSuffixes(this.scratch, parsed.nameLength, this.suffixes);
    // Dynamic blocks come first: an incident block must not be undone by a broad allowlist entry.
    if (store.dynamicSet.match(this.suffixes, count) >= 0) {
      // The stored reason may carry an incident title: clients get the generic text (public-block-text.ts).
      const text = publicBlockText(store.dynamicBlockFor(parsed.name)?.reason);
      return this.block(msg, parsed, ctx, policy, { kind: 'dynamic', ede: { infoCode: EDE_BLOCKED, text } }, started);
    }
    if (store.allowlist.match(this.suffixes, count) >= 0 || policy.allowlist.match(this.suffixes, count) >= 0) {
      return this.resolve(msg, parsed, ctx, policy, 'allow', 'allowlist', started, Infinity);
    }
    const lists = policy.blocklists;
    for (let i = 0; i < lists.length; i++) {
      const index = lists[i]!;
      if (store.sets[index]!.match(this.suffixes, count) >= 0) {
        return this.block(msg, parsed, ctx, policy, this.listBlocks[index]!, started);
      }
    }
    if (!policy.classify || this.o.classify === undefined) return this.resolve(msg, parsed, ctx, policy, 'allow', '', started, Infinity);

    const client: ClientContext = { address: ctx.address, protocol: ctx.protocol, policy: policy.name };
    if (ctx.user !== undefined) client.user = ctx.user;
    // The low bits of the name's hash spread memo expiries, so names first seen together are not all
    // re-checked in the same instant.
    const verdict = this.classify(parsed.name, client, (this.suffixes[2 * count - 1]! & 0xff) / 1024);
    if (verdict instanceof Promise) {
      return verdict.then((settled) => this.afterVerdict(msg, parsed, ctx, policy, settled, started));
    }
    return this.afterVerdict(msg, parsed, ctx, policy, verdict, started);
  }

  private afterVerdict(msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, memo: VerdictMemo, started: number): Reply | Promise<Reply> {
    const verdict = memo.verdict;
    const code = verdict.reasons?.[0]?.code ?? '';
    if (verdict.action === 'block') {
      const text = verdict.humanReason ?? (verdict.reasons ?? []).map((r) => r.code).join(', ');
      return this.block(msg, parsed, ctx, policy, { kind: `classify:${code || 'block'}`, ede: { infoCode: verdict.infoCode ?? EDE_BLOCKED, text: text || 'blocked by policy' } }, started);
    }
    return this.resolve(msg, parsed, ctx, policy, verdict.action, code ? `classify:${code}` : '', started, memo.expiresAt);
  }

  private classify(name: string, client: ClientContext, jitter: number): VerdictMemo | Promise<VerdictMemo> {
    const key = `${client.policy}\0${client.user ?? ''}\0${name}`;
    const now = this.o.clock.now();
    const memo = this.verdictMemo.fresh(key, now);
    if (memo) return memo;
    const remember = (verdict: Verdict): VerdictMemo => {
      // `reusable: false`: made without a check that could not start for this client (verdict.ts).
      if (this.o.verdictCacheTtlMs <= 0 || verdict.reusable === false) return { verdict, expiresAt: 0 };
      return this.verdictMemo.remember(key, verdict, now + this.o.verdictCacheTtlMs * (1 - jitter));
    };
    // A hook that throws cannot be evaluated: fail closed (ARCHITECTURE.md, Decisions).
    const failed = (error: unknown): VerdictMemo => {
      this.o.onHookError?.('classify', error);
      return { verdict: { action: 'block', reasons: [{ code: 'classify_error' }], humanReason: 'the domain check failed' }, expiresAt: 0 };
    };
    let result: Verdict | Promise<Verdict>;
    try {
      result = this.o.classify!(name, client);
    } catch (error) {
      return failed(error);
    }
    if (!(result instanceof Promise)) return remember(result);
    return new Promise<VerdictMemo>((resolve) => {
      const timer = setTimeout(() => {
        resolve({
          verdict: this.o.onClassifyTimeout === 'allow'
            ? { action: 'allow', reasons: [{ code: 'classify_timeout' }] }
            : { action: 'block', reasons: [{ code: 'classify_timeout' }], humanReason: 'the domain check did not finish in time' },
          expiresAt: 0,
        });
      }, this.o.classifyBudgetMs);
      result.then(
        (verdict) => { clearTimeout(timer); resolve(remember(verdict)); },
        (error) => { clearTimeout(timer); resolve(failed(error)); },
      );
    });
  }

  private base(msg: Buffer, parsed: ParsedQuery, opt?: Buffer): ReplyBase {
    const base: ReplyBase = { query: msg, id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd };
    const chosen = opt ?? optFor(this.plainOpt, parsed);
    if (chosen) base.opt = chosen;
    return base;
  }

  private block(msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, decision: BlockDecision, started: number): Reply {
    this.o.metrics.countBlock(decision.kind);
    // RFC 8914 §3: EDE rides in the OPT record, so only clients that sent EDNS get it.
    let opt: Buffer | undefined;
    if (parsed.edns && parsed.dnssecOk) opt = decision.optDo ??= encodeOptRecord({ udpPayload: this.o.maxUdpPayload, dnssecOk: true, ede: decision.ede });
    else if (parsed.edns) opt = decision.opt ??= encodeOptRecord({ udpPayload: this.o.maxUdpPayload, ede: decision.ede });
    const base = this.base(msg, parsed, opt) as ReplyBase & { questionEnd: number };
    let reply: Buffer;
    let rcode = 0;
    if (policy.blockResponse === 'block_page') {
      const address = parsed.qtype === TYPE_A ? this.o.blockPage.ipv4 : parsed.qtype === TYPE_AAAA ? this.o.blockPage.ipv6 : undefined;
      // Other types (HTTPS, MX...) get NODATA so the client falls back to A/AAAA and the block page.
      reply = address ? buildAddressReply(base, parsed.qtype, address, this.o.blockTtlS) : buildEmptyReply(base, 0);
    } else {
      rcode = RCODE_NXDOMAIN;
      reply = buildEmptyReply(base, RCODE_NXDOMAIN);
    }
    this.log(ctx, policy, parsed, 'block', decision.kind, false, rcode, started);
    return this.fit(reply, msg, parsed, ctx, opt);
  }

  /** `reuseUntil`: until when the decision to resolve may be reused without the pipeline (hot answers). */
  private resolve(msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, outcome: QueryOutcome, reason: string, started: number, reuseUntil: number): Reply | Promise<Reply> {
    const key = parsed.dnssecOk ? `${parsed.name}/${parsed.qtype}/do` : `${parsed.name}/${parsed.qtype}`;
    const now = this.o.clock.now();
    const entry = this.o.cache.get(key, now);
    if (entry !== undefined && entry.questionEnd === parsed.questionEnd) {
      this.o.metrics.cacheHits++;
      // Prefetch (as unbound's `prefetch`): a name still asked for in the last tenth of its TTL is
      // refreshed in the background, so popular names never expire and stall a burst of clients.
      if ((entry.expiresAt - now) * 10 < entry.ttlS * 1000 && !this.inflight.has(key) && now >= this.upstreamsDownUntil) {
        this.startFetch(key, parsed).catch(() => undefined);
      }
      return this.answer(entry, msg, parsed, ctx, policy, outcome, reason, true, now, started, reuseUntil);
    }
    this.o.metrics.cacheMisses++;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      if (now < this.upstreamsDownUntil) return this.upstreamFailed(key, true, msg, parsed, ctx, policy, outcome, reason, now, started, reuseUntil);
      pending = this.startFetch(key, parsed);
    }
    return pending.then(
      (fetched) => this.answer(fetched, msg, parsed, ctx, policy, outcome, reason, false, this.o.clock.now(), started, reuseUntil),
      (error: unknown) => {
        const unreachable = error instanceof UpstreamsFailedError && error.unreachable;
        return this.upstreamFailed(key, unreachable, msg, parsed, ctx, policy, outcome, reason, this.o.clock.now(), started, reuseUntil);
      },
    );
  }

  /**
   * Every upstream failed (or the hold-down says they would): an expired answer still in the serve-stale
   * window goes out with EDE 3 and a short TTL (RFC 8767 §4, RFC 8914 §4.4); otherwise SERVFAIL, with
   * EDE 22 when no upstream replied at all (RFC 8914 §4.23).
   */
  private upstreamFailed(key: string, unreachable: boolean, msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, outcome: QueryOutcome, reason: string, now: number, started: number, reuseUntil: number): Reply {
    const kept = this.o.cache.getStale(key, now);
    if (kept !== undefined && kept.questionEnd === parsed.questionEnd) {
      // Refreshed by another query in the meantime: an ordinary cache hit.
      if (kept.expiresAt > now) return this.answer(kept, msg, parsed, ctx, policy, outcome, reason, true, now, started, reuseUntil);
      this.o.metrics.staleAnswers++;
      const opt = optFor(this.staleOpt, parsed);
      this.log(ctx, policy, parsed, outcome, reason ? `${reason};stale` : 'stale', true, kept.rcode, started);
      return this.fit(renderStaleReply(kept, msg, parsed.id, parsed.flags, STALE_TTL_S, opt), msg, parsed, ctx, opt);
    }
    this.o.metrics.servfail++;
    this.log(ctx, policy, parsed, 'error', unreachable ? 'upstream_unreachable' : 'servfail', false, RCODE_SERVFAIL, started);
    const opt = unreachable ? optFor(this.unreachableOpt, parsed) : undefined;
    return buildEmptyReply(this.base(msg, parsed, opt), RCODE_SERVFAIL);
  }

  /** One upstream query per key at a time: concurrent misses for the same name share it. */
  private startFetch(key: string, parsed: ParsedQuery): Promise<CacheEntry> {
    const pending = this.fetch(key, parsed);
    this.inflight.set(key, pending);
    const forget = () => this.inflight.delete(key);
    pending.then(forget, forget);
    return pending;
  }

  private async fetch(key: string, parsed: ParsedQuery): Promise<CacheEntry> {
    const answersBefore = this.upstreamAnswers;
    let forwarded: ForwardResult;
    try {
      forwarded = await this.o.forwarder.forward(parsed.name, parsed.qtype, parsed.qclass, parsed.dnssecOk);
    } catch (error) {
      // Hold down only when nothing came back for any query while this one waited: one name whose own
      // servers are dead must not make every other name fail fast.
      const holdDownMs = this.o.upstreamHoldDownMs ?? 0;
      if (error instanceof UpstreamsFailedError && error.unreachable && this.upstreamAnswers === answersBefore && holdDownMs > 0) {
        this.upstreamsDownUntil = this.o.clock.now() + holdDownMs;
      }
      throw error;
    }
    this.upstreamAnswers++;
    this.upstreamsDownUntil = 0;
    const { answer, latencyMs } = forwarded;
    this.o.metrics.observeUpstream(latencyMs);
    const now = this.o.clock.now();
    const entry = toCacheEntry(answer, this.o.cacheLimits, now);
    if (entry) {
      this.o.cache.set(key, entry);
      return entry;
    }
    // Not cacheable (e.g. negative without SOA, RFC 2308 §5): served once with its own TTLs.
    return newCacheEntry(answer, Uint32Array.from(answer.ttls), now, 0);
  }

  private answer(entry: CacheEntry, msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, outcome: QueryOutcome, reason: string, cached: boolean, now: number, started: number, reuseUntil: number): Reply {
    const opt = optFor(this.plainOpt, parsed);
    const reply = renderCachedReply(entry, msg, parsed.id, parsed.flags, now, opt);
    this.log(ctx, policy, parsed, outcome, reason, cached, entry.rcode, started);
    // Not for per-user DoH (its verdicts are the user's) nor answers the cache would not keep (ttlS 0).
    // Fresh until the verdict memo expires or the prefetch window opens, whichever comes first.
    const freshUntil = Math.min(reuseUntil, entry.expiresAt - entry.ttlS * 100);
    if (ctx.user === undefined && entry.ttlS > 0 && now < freshUntil) {
      this.hot.remember(policy, new HotAnswer(parsed.name, parsed.qtype, parsed.dnssecOk, typeName(parsed.qtype), outcome, reason, entry, freshUntil));
    }
    return this.fit(reply, msg, parsed, ctx, opt);
  }

  private answerHot(hot: HotAnswer, msg: Buffer, query: ParsedQuery, ctx: QueryContext, policy: ClientPolicy, now: number, started: number): Reply {
    this.o.metrics.cacheHits++;
    const opt = optFor(this.plainOpt, query);
    hot.refreshTtls(now);
    const reply = writeReply(hot.template, hot.questionEnd, hot.rcode, msg, query.id, query.flags, opt);
    this.record(ctx, policy.name, hot.name, hot.typeName, hot.outcome, hot.reason, true, hot.rcode, started, now);
    return this.fit(reply, msg, query, ctx, opt);
  }

  /** RFC 6891 §7 / RFC 1035 §4.2.1: a UDP reply larger than the client accepts is replaced by TC=1. */
  private fit(reply: Buffer, msg: Buffer, parsed: ParsedQuery, ctx: QueryContext, opt: Buffer | undefined): Buffer {
    const limit = ctx.protocol === 'udp' ? (parsed.edns ? Math.min(parsed.udpSize, this.o.maxUdpPayload) : 512) : TCP_LIMIT;
    if (reply.length <= limit) return reply;
    const base: ReplyBase = { query: msg, id: parsed.id, flags: parsed.flags, questionEnd: parsed.questionEnd };
    if (opt) base.opt = opt.length > 11 ? (parsed.dnssecOk ? this.plainOpt.withDo : this.plainOpt.plain) : opt;
    return buildEmptyReply(base, reply[3]! & 0x0f, true);
  }

  private log(ctx: QueryContext, policy: ClientPolicy, parsed: ParsedQuery, verdict: QueryOutcome, reason: string, cached: boolean, rcode: number, started: number): void {
    if (!this.logging) return;
    this.record(ctx, policy.name, parsed.name, typeName(parsed.qtype), verdict, reason, cached, rcode, started, this.o.clock.now());
  }

  private record(ctx: QueryContext, policy: string, name: string, type: string, verdict: QueryOutcome, reason: string, cached: boolean, rcode: number, started: number, now: number): void {
    if (!this.logging) return;
    const { queryLog, onQuery } = this.o;
    const latencyMs = this.o.monotonicMs() - started;
    try {
      queryLog?.add(now, latencyMs, ctx.address, ctx.user, ctx.protocol, name, type, verdict, reason);
      if (onQuery !== undefined) {
        const entry: QueryLogEntry = { client: ctx.address, protocol: ctx.protocol, policy, name, type, verdict, reason, latencyMs, cached, rcode };
        if (ctx.user !== undefined) entry.user = ctx.user;
        onQuery(entry);
      }
    } catch (error) {
      this.o.onHookError?.('onQuery', error);
    }
  }
}
