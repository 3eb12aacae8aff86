/**
 * npm run bench:token-revocation — how fast a revocation made on instance A is in effect on instance B
 * (its own process, same PostgreSQL database), seen from B's access proxy over real HTTP:
 *
 * (a) 5,000 service tokens revoked by one bulk call on A (`revokeMany({ tag })`, what `gatehouse tokens
 *     revoke --tag` runs); from the call, every token is sent to B again and again until B has refused
 *     each one: the time to the last refusal.
 * (b) baseline, same run, same two instances: 5,000 browser sessions (app-session cookies on the same
 *     app) ended by one call on A (`revokeAllSessions`, what `gatehouse sessions revoke --all` runs),
 *     probed on B the same way.
 * (c) one token's emergency rotation on A, the old secret sent to B one request at a time until it is
 *     refused, repeated; baseline: one session revoked on A (`revokeSession`), probed the same way.
 *
 * The requests come from a third process (bench/token-revocation/prober.ts), so they never hold the
 * event loop of instance A while its call is timed; all three share one clock (CLOCK_MONOTONIC).
 * A sweep of 5,000 requests takes a while on a shared 2-core machine, so (a) and (b) also report the
 * last accepted answer after the call (a lower bound of the moment B applied the change) and the time
 * one full sweep took before the call (the resolution of the probe). Run once per feed_poll_ms given.
 *
 *   npx tsx bench/token-revocation-bench.ts [--tokens 5000] [--sessions 5000] [--repeats 30] [--feed-poll-ms 100[,20]]
 *
 * Writes bench/results/token-revocation.json. Everything listens on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { IssuedServiceToken } from '../src/credentials/index.js';
import { cryptoRandom, randomToken } from '../src/lib/random.js';
import { hashSecret } from '../src/lib/secret-hash.js';
import { havePostgres, POSTGRES_TEST_URL } from '../test/peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../test/support/gatehouse-fixture.js';
import { spawnGatehouse, type GatehouseProcess } from '../test/support/serve-process.js';

const { values: flags } = parseArgs({
  options: {
    tokens: { type: 'string', default: '5000' },
    sessions: { type: 'string', default: '5000' },
    repeats: { type: 'string', default: '30' },
    'feed-poll-ms': { type: 'string', default: '100' },
  },
});
const TOKENS = Number(flags.tokens);
const SESSIONS = Number(flags.sessions);
const REPEATS = Number(flags.repeats);
const POLLS = flags['feed-poll-ms'].split(',').map(Number);
const CONCURRENCY = 64;
const HOST = 'bench.acme.localhost';
const here = dirname(fileURLToPath(import.meta.url));

if (![TOKENS, SESSIONS, REPEATS, ...POLLS].every((n) => Number.isInteger(n) && n > 0)) {
  process.stderr.write('usage: token-revocation-bench.ts [--tokens N] [--sessions N] [--repeats N] [--feed-poll-ms MS[,MS]]\n');
  process.exit(2);
}
if (!(await havePostgres())) {
  process.stderr.write(`[SKIPPED] bench:token-revocation needs PostgreSQL (two instances share it): nothing answers at ${new URL(POSTGRES_TEST_URL).host}\n`);
  process.exit(0);
}

const upstream = http.createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
const appsYaml = `apps:
  - name: bench
    host: ${HOST}
    upstream: http://127.0.0.1:${(upstream.address() as AddressInfo).port}
    max_requests_per_client: 100000
    policies:
      - { name: machines, action: allow, include: [{ service_token_tag: [bulk, single] }] }
      - { name: people, action: allow, include: [{ everyone: true }] }
`;

/** One credential to probe B with: a token's headers or an app-session cookie. */
type Probe = Record<string, string>;
const tokenProbe = (t: Pick<IssuedServiceToken, 'clientId' | 'secret'>): Probe => ({ 'gatehouse-client-id': t.clientId, 'gatehouse-client-secret': t.secret });
const sessionProbe = (appToken: string): Probe => ({ cookie: `gatehouse_app_session=${appToken}` });
// What B answers: a token is let through (200) or refused (403); a session is let through (200) or, no
// longer valid, sent to sign in (302).
const TOKEN = { accepted: 200, refused: 403 };
const SESSION = { accepted: 200, refused: 302 };

/** CLOCK_MONOTONIC ms: the prober's clock too. */
const now = () => Number(process.hrtime.bigint()) / 1e6;
const orNaN = (value: unknown) => (typeof value === 'number' ? value : Number.NaN);

interface Sweep {
  /** From the call: the first refusal of the last credential refused. */
  lastRefusedMs: number;
  /** From the call: the last answer that still let a credential in. */
  lastAcceptedMs: number;
  sweeps: number;
  requests: number;
  notRefused: number;
  unexpected: number;
}

/** The prober process (bench/token-revocation/prober.ts), aimed at instance B. */
async function startProber(port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'token-revocation', 'prober.ts'), String(port), HOST], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, (line: Record<string, unknown>) => void>();
  const starting = new Map<number, () => void>();
  let nextId = 0;
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`prober exited with ${code}`)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      const line = JSON.parse(text) as Record<string, unknown>;
      if (line.ready) return resolve();
      const id = Number(line.id);
      if (line.started) return starting.get(id)?.();
      waiting.get(id)?.(line);
    });
  });
  await ready;
  /** Sends a command; `onStart` runs when the prober has begun (sweep, until); resolves to its answer. */
  const send = (command: Record<string, unknown>, onStart?: () => void) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++nextId;
      if (onStart) starting.set(id, onStart);
      waiting.set(id, (line) => (line.error ? reject(new Error(`prober: ${String(line.error)}`)) : resolve(line)));
      child.stdin.write(`${JSON.stringify({ id, ...command })}\n`);
    });
  return {
    define: (set: string, probes: Probe[]) => send({ op: 'define', set, probes }),
    async warm(set: string, accepted: number): Promise<number> {
      return Number((await send({ op: 'warm', set, accepted })).sweepMs);
    },
    /** Starts sweeping `set`, runs `call` once the prober has begun; times are from the call. */
    async sweepDuring<T>(set: string, expect: { accepted: number; refused: number }, call: () => Promise<T>): Promise<{ value: T; callMs: number } & Sweep> {
      let called: Promise<{ value: T; start: number; callMs: number }> | undefined;
      const answer = await send({ op: 'sweep', set, ...expect }, () => {
        const start = now();
        called = call().then((value) => ({ value, start, callMs: now() - start }));
      });
      const { value, start, callMs } = await called!;
      return {
        value,
        callMs,
        lastRefusedMs: orNaN(answer.lastRefusedAt) - start,
        lastAcceptedMs: orNaN(answer.lastAcceptedAt) - start,
        sweeps: Number(answer.sweeps),
        requests: Number(answer.requests),
        notRefused: Number(answer.notRefused),
        unexpected: Number(answer.unexpected),
      };
    },
    /** The same for one credential sent one request at a time. */
    async untilDuring(probe: Probe, refused: number, call: () => Promise<unknown>): Promise<{ callMs: number; refusedMs: number }> {
      let called: Promise<{ start: number; callMs: number }> | undefined;
      const answer = await send({ op: 'until', probe, refused }, () => {
        const start = now();
        called = call().then(() => ({ start, callMs: now() - start }));
      });
      const { start, callMs } = await called!;
      return { callMs, refusedMs: orNaN(answer.refusedAt) - start };
    },
    async stop() {
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

const quantile = (values: number[], q: number) => {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((x, y) => x - y);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};

async function seedSessions(a: GatehouseFixture, count: number): Promise<{ idHash: string; appToken: string }[]> {
  const db = a.gatehouse.core.store.db;
  const now = a.gatehouse.core.clock.now();
  const userIds: string[] = [];
  for (let i = 0; i < Math.ceil(count / 5); i += 1000) {
    const rows = Array.from({ length: Math.min(1000, Math.ceil(count / 5) - i) }, () => ({ id: cryptoRandom.uuid(), email: `user-${cryptoRandom.uuid()}@acme.test`, name: 'Bench', status: 'active' as const, reenroll_required: 0, created_at: now, updated_at: now }));
    await db.insertInto('users').values(rows).execute();
    userIds.push(...rows.map((r) => r.id));
  }
  const seeded: { idHash: string; appToken: string }[] = [];
  for (let i = 0; i < count; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ idHash: hashSecret(randomToken(cryptoRandom, 32)), appToken: randomToken(cryptoRandom, 32), userId: userIds[(i + k) % userIds.length]! }));
    await db
      .insertInto('sessions')
      .values(batch.map((s) => ({ id_hash: s.idHash, user_id: s.userId, amr: '["hwk"]', phishing_resistant_at: now, ip: '127.0.0.1', user_agent: 'bench', created_at: now, last_seen_at: now, expires_at: now + 86_400_000, revoked_at: null, revoked_reason: null, credential_id: null })))
      .execute();
    await db
      .insertInto('app_sessions')
      .values(batch.map((s) => ({ id_hash: hashSecret(s.appToken), session_hash: s.idHash, app: 'bench', created_at: now })))
      .execute();
    seeded.push(...batch.map(({ idHash, appToken }) => ({ idHash, appToken })));
  }
  return seeded;
}

interface Run {
  feedPollMs: number;
  seedSeconds: number;
  /** The machine's 1-minute load average when the measurements started (2 cores shared with others). */
  loadAverage: number;
  bulk: {
    tokens: { revoked: number; callMs: number; fullSweepMs: number } & Sweep;
    sessions: { revoked: number; callMs: number; fullSweepMs: number } & Sweep;
  };
  single: {
    tokenRotation: { callMs: number[]; refusedMs: number[] };
    sessionRevocation: { callMs: number[]; refusedMs: number[] };
  };
  refusalCodesOnB: Record<string, number>;
}

async function runOnce(feedPollMs: number): Promise<Run> {
  const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_token_revocation_bench');
  const a = await startFixture({ databaseUrl, extraYaml: appsYaml, feedPollMs });
  let b: GatehouseProcess | undefined;
  try {
    const portB = await freePort();
    const configB = join(a.dir, 'instance-b.yaml');
    writeFileSync(configB, fixtureConfigYaml({ dir: a.dir, port: portB, databaseUrl, extraYaml: appsYaml, feedPollMs }));
    b = await spawnGatehouse(configB);
    const prober = await startProber(portB);
    const tokens = a.gatehouse.serviceTokens;
    const identity = a.gatehouse.core.identity;

    // --- seed: tokens through the service (each with its feed row, as B must learn them), sessions as rows ---
    const seedStart = performance.now();
    const bulk: IssuedServiceToken[] = [];
    for (let i = 0; i < TOKENS; i++) bulk.push(await tokens.create({ name: `bulk-${i}`, owner: 'ci@acme.test', apps: ['bench'], tags: ['bulk'], actor: 'bench' }));
    let single = await tokens.create({ name: 'single', owner: 'ci@acme.test', apps: ['bench'], tags: ['single'], actor: 'bench' });
    const sessions = await seedSessions(a, SESSIONS + REPEATS);
    const bulkSessions = sessions.slice(0, SESSIONS);
    const singleSessions = sessions.slice(SESSIONS);
    const seedSeconds = Number(((performance.now() - seedStart) / 1000).toFixed(1));

    // --- warm B: every credential accepted there (its verifier and session cache, the JWT cache) ---
    await prober.define('tokens', bulk.map(tokenProbe));
    await prober.define('sessions', bulkSessions.map((s) => sessionProbe(s.appToken)));
    await prober.warm('tokens', TOKEN.accepted);
    await prober.warm('sessions', SESSION.accepted);

    const loadAverage = Number(os.loadavg()[0]!.toFixed(2));

    // --- (c) single credential, interleaved: emergency rotation vs one session revoked ---
    const tokenRotation = { callMs: [] as number[], refusedMs: [] as number[] };
    const sessionRevocation = { callMs: [] as number[], refusedMs: [] as number[] };
    for (let i = 0; i < REPEATS; i++) {
      await prober.define('single', [tokenProbe(single)]);
      await prober.warm('single', TOKEN.accepted);
      const old = tokenProbe(single);
      const rotation = await prober.untilDuring(old, TOKEN.refused, async () => {
        single = await tokens.rotate('single', { emergency: true, actor: 'bench' });
      });
      tokenRotation.callMs.push(rotation.callMs);
      tokenRotation.refusedMs.push(rotation.refusedMs);

      const probe = sessionProbe(singleSessions[i]!.appToken);
      await prober.define('single', [probe]);
      await prober.warm('single', SESSION.accepted);
      const revocation = await prober.untilDuring(probe, SESSION.refused, () => identity.revokeSession(singleSessions[i]!.idHash, { actor: 'bench', reason: 'bench' }));
      sessionRevocation.callMs.push(revocation.callMs);
      sessionRevocation.refusedMs.push(revocation.refusedMs);
      await new Promise((r) => setTimeout(r, 20));
    }

    // --- (a) 5,000 tokens revoked by one call on A ---
    const tokenSweepMs = await prober.warm('tokens', TOKEN.accepted);
    const { value: revoked, ...tokenSweep } = await prober.sweepDuring('tokens', TOKEN, () => tokens.revokeMany({ tag: 'bulk' }, { actor: 'bench', reason: 'bench: leaked' }));
    const bulkTokens = { revoked: revoked.revoked.length, fullSweepMs: tokenSweepMs, ...tokenSweep };

    // --- (b) baseline: 5,000 sessions ended by one call on A ---
    const sessionSweepMs = await prober.warm('sessions', SESSION.accepted);
    const { value: sessionsRevoked, ...sessionSweep } = await prober.sweepDuring('sessions', SESSION, () => identity.revokeAllSessions({ actor: 'bench', reason: 'bench' }));
    const bulkSessionsResult = { revoked: sessionsRevoked, fullSweepMs: sessionSweepMs, ...sessionSweep };

    // B's own record of why it refused: the audit log (shared database), budgeted per client network.
    const refusals = await a.gatehouse.core.audit.list({ type: 'service_token.refused', limit: 1000 });
    const refusalCodesOnB: Record<string, number> = {};
    for (const event of refusals) refusalCodesOnB[event.code] = (refusalCodesOnB[event.code] ?? 0) + 1;

    await prober.stop();
    return { feedPollMs, seedSeconds, loadAverage, bulk: { tokens: bulkTokens, sessions: bulkSessionsResult }, single: { tokenRotation, sessionRevocation }, refusalCodesOnB };
  } finally {
    await b?.stop();
    await a.close();
  }
}

const runs: Run[] = [];
for (const poll of POLLS) runs.push(await runOnce(poll));
await new Promise((r) => upstream.close(r));

const ms = (v: number) => (Number.isNaN(v) ? 'not seen' : `${v.toFixed(0)} ms`);
const ms1 = (v: number) => (Number.isNaN(v) ? 'not seen' : `${v.toFixed(1)} ms`);
const lines: string[] = [];
for (const run of runs) {
  const { tokens: t, sessions: s } = run.bulk;
  const { tokenRotation: r, sessionRevocation: v } = run.single;
  const meets = (value: number, target: number) => (!Number.isNaN(value) && value <= target ? 'MET' : 'NOT MET');
  lines.push(
    `token revocation: 2 instances on PostgreSQL (B its own process), probed over HTTP through B's access proxy; database.feed_poll_ms = ${run.feedPollMs} (LISTEN/NOTIFY on); seeded in ${run.seedSeconds} s; load average ${run.loadAverage} on ${os.cpus().length} CPUs`,
    '',
    `| bulk, one call on A | revoked | call returned | last still accepted on B | last refused on B | sweeps | full sweep before (resolution) |`,
    '|---|---:|---:|---:|---:|---:|---:|',
    `| ${TOKENS} service tokens: \`revokeMany({ tag })\` (tokens revoke --tag) | ${t.revoked} | ${ms(t.callMs)} | ${ms(t.lastAcceptedMs)} | **${ms(t.lastRefusedMs)}** | ${t.sweeps} | ${ms(t.fullSweepMs)} |`,
    `| baseline: ${SESSIONS} browser sessions: \`revokeAllSessions\` (sessions revoke --all) | ${s.revoked} | ${ms(s.callMs)} | ${ms(s.lastAcceptedMs)} | **${ms(s.lastRefusedMs)}** | ${s.sweeps} | ${ms(s.fullSweepMs)} |`,
    '',
    `| single credential, one call on A (${REPEATS} times) | call returned p50 | refused on B p50 | refused on B p95 | max |`,
    '|---|---:|---:|---:|---:|',
    `| service token \`rotate --emergency\`: old secret | ${ms1(quantile(r.callMs, 0.5))} | **${ms1(quantile(r.refusedMs, 0.5))}** | **${ms1(quantile(r.refusedMs, 0.95))}** | ${ms1(quantile(r.refusedMs, 1))} |`,
    `| baseline: one session revoked (\`sessions revoke HANDLE\`) | ${ms1(quantile(v.callMs, 0.5))} | ${ms1(quantile(v.refusedMs, 0.5))} | ${ms1(quantile(v.refusedMs, 0.95))} | ${ms1(quantile(v.refusedMs, 1))} |`,
    '',
    `not refused at the end: tokens ${t.notRefused}, sessions ${s.notRefused}; unexpected statuses: tokens ${t.unexpected}, sessions ${s.unexpected}; refusal codes in B's audit (budgeted): ${JSON.stringify(run.refusalCodesOnB)}`,
    `target: ${TOKENS} tokens refused on B <= 1000 ms after the call: ${meets(t.lastRefusedMs, 1000)}; emergency rotation refused on B <= 100 ms (p95): ${meets(quantile(r.refusedMs, 0.95), 100)} (p50: ${meets(quantile(r.refusedMs, 0.5), 100)})`,
    '',
  );
}
process.stdout.write(`${lines.join('\n')}\n`);

mkdirSync(join(here, 'results'), { recursive: true });
const summary = runs.map((run) => ({
  ...run,
  single: Object.fromEntries(
    Object.entries(run.single).map(([name, m]) => [name, { callP50Ms: quantile(m.callMs, 0.5), refusedP50Ms: quantile(m.refusedMs, 0.5), refusedP95Ms: quantile(m.refusedMs, 0.95), refusedMaxMs: quantile(m.refusedMs, 1), refusedMs: m.refusedMs.map((x) => Number(x.toFixed(2))) }]),
  ),
}));
writeFileSync(
  join(here, 'results', 'token-revocation.json'),
  `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown' }, tokens: TOKENS, sessions: SESSIONS, repeats: REPEATS, concurrency: CONCURRENCY, runs: summary, note: 'instance A (in the bench process, with the upstream), instance B and the HTTP prober are three processes on one machine with PostgreSQL; times from the call on A' }, null, 2)}\n`,
);
process.exit(0);
