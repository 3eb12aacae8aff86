/**
 * Policy engine benchmark: 1,000 apps x 10 policies (mixed selectors), a realistic request mix,
 * CPU nanoseconds per decision for the compiled engine against a naive interpreter of the same config
 * objects measured in the same run (and checked to give the same outcomes).
 *
 *   npx tsx bench/policy-bench.ts [requests=200000] [rounds=7] [apps=1000]
 */
import { z } from 'zod';
import { accessSchema, appsSchema, type AppConfig, type PolicyConfig, type SelectorConfig } from '../src/config/index.js';
import { type AccessRequest, compilePolicyEngine, normalizeRequestPath } from '../src/access/policy/index.js';
import { type IpScratch, newIpScratch, parseCidr, parseIpInto } from '../src/lib/ip/ip-address.js';
import { seededPrng } from '../test/support/seeded-prng.js';

const REQUESTS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 7);
const APPS = Number(process.argv[4] ?? 1000);
const NOW = Date.UTC(2026, 0, 7, 9, 0);

const rand = seededPrng(20260107);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
const some = <T>(xs: readonly T[], n: number): T[] => Array.from({ length: n }, () => pick(xs)).filter((x, i, a) => a.indexOf(x) === i);

const GROUPS = Array.from({ length: 40 }, (_, i) => `team-${i}`);
const USERS = Array.from({ length: 500 }, (_, i) => `user${i}@acme.test`);
const OFFICE = ['10.0.0.0/8', '192.168.0.0/16', '2001:db8:100::/48', '172.16.0.0/12'];
const ZONES = ['Europe/Paris', 'America/New_York', 'Asia/Tokyo', 'UTC'];

function includeSelector(): unknown {
  return pick([
    () => ({ group: some(GROUPS, 3) }),
    () => ({ group: some(GROUPS, 1) }),
    () => ({ email_domain: ['acme.test'] }),
    () => ({ email: some(USERS, 20) }),
    () => ({ everyone: true }),
  ])();
}
function requireSelector(): unknown {
  return pick([
    () => ({ auth_method: 'phishing_resistant' }),
    () => ({ auth_method: ['otp', 'hwk', 'swk'] }),
    () => ({ method: ['GET', 'HEAD'] }),
    () => ({ path: [pick(['/admin', '/api/', '/api/*/write', '/**/*.json'])] }),
    () => ({ ip: some(OFFICE, 2) }),
    () => ({ time: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], hours: ['07:00-20:00'], time_zone: pick(ZONES) } }),
    () => ({ auth_age: pick([10, 60, 240]) }),
  ])();
}
function excludeSelector(): unknown {
  return pick([() => ({ group: ['contractors'] }), () => ({ email: some(USERS, 3) }), () => ({ ip: ['192.168.66.0/24'] })])();
}

function rawApp(i: number): unknown {
  const policies: unknown[] = [{ name: 'health', action: 'bypass', include: [{ everyone: true }], require: [{ path: ['/healthz'] }, { method: ['GET'] }] }];
  if (rand() < 0.5) policies.push({ name: 'no-contractors', action: 'block', include: [{ group: ['contractors'] }], exclude: [{ ip: ['10.0.0.0/8'] }] });
  while (policies.length < 10) {
    const n = policies.length;
    policies.push({
      name: `p${n}`,
      action: rand() < 0.1 ? 'block' : 'allow',
      include: Array.from({ length: 1 + Math.floor(rand() * 2) }, includeSelector),
      require: Array.from({ length: Math.floor(rand() * 3) }, requireSelector),
      exclude: Array.from({ length: Math.floor(rand() * 2) }, excludeSelector),
    });
  }
  return { name: `app-${i}`, host: `app-${i}.acme.test`, upstream: `http://127.0.0.1:${10000 + i}`, policies };
}

const config = z.strictObject({ apps: appsSchema, access: accessSchema }).parse({
  apps: Array.from({ length: APPS }, (_, i) => rawApp(i)),
  access: { blocked_ips: ['203.0.113.0/24', '2001:db8:bad::/48', ...Array.from({ length: 200 }, (_, i) => `198.18.${i}.0/24`)] },
});
const runtimeBlocked = new Set(Array.from({ length: 5000 }, (_, i) => `100.64.${i >> 8}.${i & 255}`));
const isIpBlocked = (ip: string) => runtimeBlocked.has(ip);

/** Zipf (s = 1) app popularity: real traffic piles onto a few apps (wiki, mail) and trickles to the rest. */
const zipfCumulative = (() => {
  const weights = Array.from({ length: APPS }, (_, k) => 1 / (k + 1));
  const total = weights.reduce((a, b) => a + b, 0);
  let sum = 0;
  return weights.map((w) => (sum += w / total));
})();
function zipfApp(): number {
  const x = rand();
  let lo = 0;
  let hi = APPS - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (zipfCumulative[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function makeRequest(appIndex = Math.floor(rand() * APPS)): { app: string; request: AccessRequest } {
  const email = pick(USERS);
  const anonymous = rand() < 0.15;
  const request: AccessRequest = {
    ip: pick(['10.1.2.3', '10.20.30.40', '192.168.66.7', '::ffff:10.9.8.7', '2001:db8:100::42', '81.2.69.160', '203.0.113.9', '100.64.0.5']),
    method: pick(['GET', 'GET', 'GET', 'POST', 'HEAD', 'PUT']),
    path: pick(['/', '/wiki/Home', '/api/v1/items?page=2', '/api/v2/write', '/admin/users', '/healthz', '/static/app.json', '/a/../admin']),
    now: NOW + Math.floor(rand() * 3_600_000),
    ...(anonymous
      ? {}
      : {
          identity: {
            userId: email,
            email,
            groups: rand() < 0.05 ? ['contractors'] : some(GROUPS, 4),
            amr: pick([['hwk'], ['swk'], ['pwd', 'otp'], ['hwk', 'pwd']]),
            ...(rand() < 0.8 ? { phishingResistantAt: NOW - Math.floor(rand() * 120) * 60_000 } : {}),
          },
        }),
  };
  return { app: `app-${appIndex}`, request };
}

// ---- naive baseline: walks the config objects per request, parsing as it goes ------------------

const naiveFormatters = new Map<string, Intl.DateTimeFormat>();
function naiveLocal(zone: string, now: number): { day: string; minute: number } {
  let f = naiveFormatters.get(zone);
  if (!f) naiveFormatters.set(zone, (f = new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  const parts = f.formatToParts(now);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return { day: get('weekday').toLowerCase(), minute: (Number(get('hour')) % 24) * 60 + Number(get('minute')) };
}
function naiveInCidrs(ip: IpScratch, cidrs: readonly string[]): boolean {
  for (const text of cidrs) {
    const c = parseCidr(text);
    if (typeof c === 'string' || c.kind !== ip.kind) continue;
    if (c.kind === 4 && ip.v4 >= c.start && ip.v4 <= c.end) return true;
    if (c.kind === 6) {
      const a = Array.from(ip.v6).map((w) => w.toString(16).padStart(8, '0')).join('');
      const s = Array.from(c.start).map((w) => w.toString(16).padStart(8, '0')).join('');
      const e = Array.from(c.end).map((w) => w.toString(16).padStart(8, '0')).join('');
      if (a >= s && a <= e) return true;
    }
  }
  return false;
}
function naivePath(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => {
    if (!p.includes('*') && !p.includes('?')) return path === p || path.startsWith(p.endsWith('/') ? p : `${p}/`);
    const src = p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*\//g, '\u0001').replace(/\*\*/g, '\u0002').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\u0001/g, '(?:.*/)?').replace(/\u0002/g, '.*');
    return new RegExp(`^${src}$`).test(path);
  });
}
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
/** 0 no, 1 yes, 2 pending (same three-valued semantics as the engine). */
function naiveSelector(s: SelectorConfig, r: AccessRequest, ip: IpScratch, path: string): 0 | 1 | 2 {
  const id = r.identity;
  if (s.everyone) return 1;
  if (s.email) return id ? (s.email.includes(id.email.toLowerCase()) ? 1 : 0) : 2;
  if (s.email_domain) return id ? (s.email_domain.includes(id.email.toLowerCase().split('@').pop()!) && id.email.includes('@') ? 1 : 0) : 2;
  if (s.group) return id ? (id.groups.some((g) => s.group!.includes(g)) ? 1 : 0) : 2;
  if (s.ip) return naiveInCidrs(ip, s.ip) ? 1 : 0;
  if (s.auth_method) {
    if (!id) return 2;
    const wanted = s.auth_method.flatMap((m) => (m === 'phishing_resistant' ? ['hwk', 'swk'] : [m]));
    return id.amr.some((a) => wanted.includes(a)) ? 1 : 0;
  }
  if (s.auth_age !== undefined) return id?.phishingResistantAt !== undefined && r.now - id.phishingResistantAt <= s.auth_age * 60_000 ? 1 : 2;
  if (s.time) {
    const { day, minute } = naiveLocal(s.time.time_zone, r.now);
    const inHours = s.time.hours.some((h) => {
      const [a, b] = h.split('-').map((t) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3)));
      return minute >= a! && minute < b!;
    });
    return s.time.days.includes(day as (typeof s.time.days)[number]) && DAYS.includes(day) && inHours ? 1 : 0;
  }
  if (s.method) return s.method.includes(r.method.toUpperCase()) ? 1 : 0;
  if (s.path) return naivePath(path, s.path) ? 1 : 0;
  return 0;
}
function naivePolicy(p: PolicyConfig, r: AccessRequest, ip: IpScratch, path: string): 0 | 1 | 2 {
  let inc: 0 | 1 | 2 = 0;
  for (const s of p.include) {
    const t = naiveSelector(s, r, ip, path);
    if (t === 1) {
      inc = 1;
      break;
    }
    if (t === 2) inc = 2;
  }
  if (inc === 0) return 0;
  let res = inc;
  for (const s of p.require) {
    const t = naiveSelector(s, r, ip, path);
    if (t === 0) return 0;
    if (t === 2) res = 2;
  }
  for (const s of p.exclude) {
    const t = naiveSelector(s, r, ip, path);
    if (t === 1) return 0;
    if (t === 2) res = 2;
  }
  return p.action === 'allow' && !r.identity ? 2 : res;
}
const appsByName = new Map<string, AppConfig>(config.apps.map((a) => [a.name, a]));
function naiveDecide(appName: string, r: AccessRequest): string {
  const ip = newIpScratch();
  if (!parseIpInto(r.ip, ip)) return 'deny';
  if (naiveInCidrs(ip, config.access.blocked_ips)) return 'deny';
  if (isIpBlocked(r.ip.startsWith('::ffff:') ? r.ip.slice(7) : r.ip)) return 'deny';
  const app = appsByName.get(appName);
  const path = normalizeRequestPath(r.path);
  if (!app || path === null) return 'deny';
  let pending: PolicyConfig | undefined;
  let decided: PolicyConfig | undefined;
  for (const p of app.policies) {
    const m = naivePolicy(p, r, ip, path);
    if (m === 1) {
      decided = p;
      break;
    }
    if (m === 2) {
      if (!r.identity) return 'sign_in';
      pending ??= p;
    }
  }
  if (decided && decided.action !== 'block') return decided.action === 'allow' ? 'allow' : 'bypass';
  if (pending?.action === 'allow') return 'step_up';
  return 'deny';
}

// ---- measurement ---------------------------------------------------------------------------------

const compileStart = process.hrtime.bigint();
const engine = compilePolicyEngine({ ...config, isIpBlocked });
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;
// Sorted by time, as requests arrive. (The engine's per-zone local-time memory does not depend on
// it: the shuffled row below measures the same requests out of time order.)
const byTime = (a: { request: AccessRequest }, b: { request: AccessRequest }) => a.request.now - b.request.now;
const work = Array.from({ length: REQUESTS }, () => makeRequest()).sort(byTime);
const zipfWork = Array.from({ length: REQUESTS }, () => makeRequest(zipfApp())).sort(byTime);
const compiledApps = work.map((w) => engine.app(w.app)!);

let mismatches = 0;
const outcomes: Record<string, number> = {};
for (const w of work) {
  const d = engine.decide(w.app, w.request);
  outcomes[d.outcome] = (outcomes[d.outcome] ?? 0) + 1;
  if (naiveDecide(w.app, w.request) !== d.outcome) mismatches++;
}

interface Row {
  label: string;
  /** Median over rounds of process CPU time per decision (robust to neighbours stealing the core). */
  ns: number;
  /** Least-disturbed round, CPU and wall clock. */
  bestCpu: number;
  bestWall: number;
}

function measure(label: string, n: number, body: (i: number) => number): Row {
  let sink = 0;
  for (let i = 0; i < Math.min(n, 20_000); i++) sink += body(i); // warm-up
  const cpu: number[] = [];
  const wall: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // CPU time of this process, not only wall time: the machine is shared, and a busy neighbour
    // would otherwise show up as a slower engine.
    const c0 = process.cpuUsage();
    const w0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += body(i);
    wall.push(Number(process.hrtime.bigint() - w0) / n);
    const used = process.cpuUsage(c0);
    cpu.push(((used.user + used.system) * 1000) / n);
  }
  if (sink === -1) console.log('');
  const sorted = [...cpu].sort((a, b) => a - b);
  return { label, ns: sorted[Math.floor(sorted.length / 2)]!, bestCpu: sorted[0]!, bestWall: Math.min(...wall) };
}

/** Machine reference: 30 closure calls with a Set lookup each, so figures can be compared across machines. */
function referenceRow(): Row {
  const sets = Array.from({ length: 30 }, (_, i) => new Set([`a${i}`, `b${i}`, 'c']));
  const tests = sets.map((set) => (key: string) => (set.has(key) ? 1 : 0));
  const keys = Array.from({ length: 1000 }, (_, i) => (i % 3 ? 'c' : `zz${i}`));
  const row = measure('reference: 30 closure calls + Set.has', REQUESTS, (i) => {
    let hits = 0;
    const key = keys[i % 1000]!;
    for (let j = 0; j < 30; j++) hits += tests[j]!(key);
    return hits;
  });
  return row;
}

const rows: Row[] = [
  measure('compiled, uniform apps: app.decide', REQUESTS, (i) => (compiledApps[i]!.decide(work[i]!.request).allow ? 1 : 0)),
  measure('compiled, uniform apps: engine.decide(name)', REQUESTS, (i) => (engine.decide(work[i]!.app, work[i]!.request).allow ? 1 : 0)),
  measure('naive: interpret config objects', Math.min(REQUESTS, 50_000), (i) => (naiveDecide(work[i]!.app, work[i]!.request) === 'allow' ? 1 : 0)),
];
rows.push(measure('compiled, Zipf apps: engine.decide(name)', REQUESTS, (i) => (engine.decide(zipfWork[i]!.app, zipfWork[i]!.request).allow ? 1 : 0)));
const shuffle = seededPrng(7);
const shuffled = [...work];
for (let i = shuffled.length - 1; i > 0; i--) {
  const j = Math.floor(shuffle() * (i + 1));
  [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
}
rows.push(measure('compiled, uniform apps, out of time order', REQUESTS, (i) => (engine.decide(shuffled[i]!.app, shuffled[i]!.request).allow ? 1 : 0)));
const allowOnly = work.filter((w) => engine.decide(w.app, w.request).allow);
const denyOnly = work.filter((w) => engine.decide(w.app, w.request).outcome === 'deny');
rows.push(
  measure(`compiled: allow/bypass only (${allowOnly.length})`, allowOnly.length, (i) => (engine.decide(allowOnly[i]!.app, allowOnly[i]!.request).allow ? 1 : 0)),
  measure(`compiled: deny only, with audit reasons (${denyOnly.length})`, denyOnly.length, (i) => engine.decide(denyOnly[i]!.app, denyOnly[i]!.request).reasons.length),
);

const policiesTotal = config.apps.reduce((n, a) => n + a.policies.length, 0);
console.log(`policy engine: ${APPS} apps, ${policiesTotal} policies, ${REQUESTS} requests, median of ${ROUNDS} rounds (node ${process.version})`);
console.log(`compile: ${compileMs.toFixed(1)} ms; outcomes: ${JSON.stringify(outcomes)}; naive vs compiled outcome mismatches: ${mismatches}`);
console.log('');
rows.push(referenceRow());
const cell = (x: number) => x.toFixed(0).padStart(9);
console.log(`| ${'variant'.padEnd(48)} | CPU ns med | CPU ns best | wall ns best | decisions/s |`);
console.log(`| ${'-'.repeat(48)} | ---------:| ----------:| -----------:| -----------:|`);
for (const r of rows) {
  console.log(`| ${r.label.padEnd(48)} | ${cell(r.ns)}  | ${cell(r.bestCpu)}   | ${cell(r.bestWall)}    | ${Math.round(1e9 / r.ns).toLocaleString('en-US').padStart(11)} |`);
}
const naive = rows[2]!.ns;
console.log('');
const verdict = (r: Row) => (r.ns <= 1000 ? 'met' : r.bestCpu <= 1000 ? 'met in the best round only' : 'NOT met');
console.log(`speed-up over naive (uniform, median CPU): ${(naive / rows[1]!.ns).toFixed(1)}x; target <= 1000 ns/decision (median CPU): uniform ${verdict(rows[1]!)}, Zipf ${verdict(rows[3]!)}`);
if (mismatches > 0) process.exitCode = 1;
