/**
 * npm run bench:incident — with 10,000 users and 50,000 live sessions on PostgreSQL, the time from an
 * incident declaration until every containment step is in effect on a SECOND instance (its own process):
 * sampled sessions refused there, the relay's address refused there, the lookalike blocked by its DNS
 * gateway, and the contained users re-enrolled. Baseline in the same run: the same revocations done one
 * user at a time as a naive loop over the service layer (what a script calling the API would do).
 * Throughout both, a UDP query loop asks instance B's DNS gateway one query at a time: its max and p99
 * latency show whether applying the mass change from the feed holds B's event loop.
 */
import dgram from 'node:dgram';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { dig, digStatus } from '../src/dns/test-support/dig.js';
import { startUpstreamFixture } from '../src/dns/test-support/upstream-fixture.js';
import { createIncidentResponse } from '../src/incident/index.js';
import { randomToken, cryptoRandom } from '../src/lib/random.js';
import { hashSecret } from '../src/lib/secret-hash.js';
import { havePostgres, POSTGRES_TEST_URL } from '../test/peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase, startFixture } from '../test/support/gatehouse-fixture.js';
import { spawnGatehouse } from '../test/support/serve-process.js';
import { startWebhookReceiver } from '../test/incident/webhook-receiver.js';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 50_000);
const VICTIMS = 200;
const SAMPLE = 64;
const RELAY_IP = '198.51.100.23';
const DOMAIN = 'acme-okta.com';
/** Answered by the upstream fixture's wildcard, then from B's cache: the probe measures B, not the upstream. */
const PROBE_NAME = 'intranet.acme.test';

if (!(await havePostgres())) {
  process.stderr.write('bench:incident needs PostgreSQL\n');
  process.exit(1);
}

const app = http.createServer((_req, res) => res.end('ok'));
await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
const upstream = await startUpstreamFixture({ records: { [`login.${DOMAIN}`]: [{ type: 'A', data: '203.0.113.80', ttl: 300 }] } });
const hooks = await startWebhookReceiver();
const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_incident_bench');
const shared = `apps:
  - name: wiki
    host: wiki.acme.localhost
    upstream: http://127.0.0.1:${(app.address() as AddressInfo).port}
    policies: [{ action: allow, include: [{ everyone: true }] }]
access:
  trusted_proxies: ["127.0.0.1/32"]
incident:
  webhook_url: ${hooks.url}
`;
const a = await startFixture({ databaseUrl, extraYaml: shared });
const portB = await freePort();
const dnsPortB = await freePort();
const configB = join(a.dir, 'instance-b.yaml');
writeFileSync(configB, fixtureConfigYaml({ dir: a.dir, port: portB, databaseUrl, extraYaml: `${shared}dns:\n  enabled: true\n  listen: { address: 127.0.0.1, port: ${dnsPortB} }\n  upstreams: ["127.0.0.1:${upstream.port}"]\n  age: { enabled: false }\n` }));
const b = await spawnGatehouse(configB);
const core = a.gatehouse.core;
const db = core.store.db;

// --- seed: users, sessions (a sample with known cookies), relay victims through the audit log ---
const seedStart = performance.now();
const now = core.clock.now();
const userIds: string[] = [];
for (let i = 0; i < USERS; i += 1000) {
  const rows = Array.from({ length: Math.min(1000, USERS - i) }, (_, k) => ({ id: cryptoRandom.uuid(), email: `user${i + k}@acme.test`, name: `User ${i + k}`, status: 'active' as const, reenroll_required: 0, created_at: now, updated_at: now }));
  await db.insertInto('users').values(rows).execute();
  userIds.push(...rows.map((r) => r.id));
}
// Sessions are seeded as live rows with known cookies for a sample; created "now" so a later seed is
// newer than an earlier revoke-everything cut-off.
async function seedSessions(): Promise<string[]> {
  const created = core.clock.now();
  const tokens: string[] = [];
  for (let i = 0; i < SESSIONS; i += 2000) {
    const rows = Array.from({ length: Math.min(2000, SESSIONS - i) }, (_, k) => {
      const n = i + k;
      const token = randomToken(cryptoRandom, 32);
      if (n % Math.floor(SESSIONS / SAMPLE) === 0 && tokens.length < SAMPLE) tokens.push(token);
      return { id_hash: hashSecret(token), user_id: userIds[n % USERS]!, amr: '["hwk","mfa"]', phishing_resistant_at: created, ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, user_agent: 'bench', created_at: created, last_seen_at: created, expires_at: created + 86_400_000, revoked_at: null, revoked_reason: null };
    });
    await db.insertInto('sessions').values(rows).execute();
  }
  return tokens;
}
let sampleTokens = await seedSessions();
for (let v = 0; v < VICTIMS; v++) {
  await core.audit.record({ type: 'sign_in', outcome: 'failure', code: 'bad_totp', userId: userIds[v * 37]!, ip: RELAY_IP, detail: { method: 'password', reason: 'password correct, TOTP code wrong or replayed' } });
}
const seedMs = performance.now() - seedStart;

// --- probes of instance B ---
const poolB = new Pool(`http://127.0.0.1:${portB}`, { connections: 16 });
const portalHost = a.portalHost;
const status = async (host: string, path: string, headers: Record<string, string> = {}) => {
  const res = await poolB.request({ method: 'GET', path, headers: { host, ...headers } });
  await res.body.dump();
  return res.statusCode;
};
const sessionsRefusedOnB = async () => (await Promise.all(sampleTokens.map((t) => status(`${portalHost}:${portB}`, '/account', { cookie: `gatehouse_session=${t}` })))).every((s) => s === 303);
const sessionsAcceptedOnB = async () => (await Promise.all(sampleTokens.map((t) => status(`${portalHost}:${portB}`, '/account', { cookie: `gatehouse_session=${t}` })))).every((s) => s === 200);
const ipRefusedOnB = async () => (await status(`wiki.acme.localhost:${portB}`, '/', { 'x-forwarded-for': RELAY_IP })) === 403;
const domainBlockedOnB = async () => digStatus(await dig(dnsPortB, [`login.${DOMAIN}`, 'A'])) === 'NXDOMAIN';

interface DnsLatency {
  answered: number;
  maxMs: number;
  p99Ms: number;
}

/** One A query at a time against B's gateway until stopped; a query still unanswered counts at stop. */
function probeDnsLatency(port: number, name: string): { stop(): Promise<DnsLatency> } {
  const socket = dgram.createSocket('udp4');
  const labels = name.split('.').flatMap((l) => [Buffer.from([l.length]), Buffer.from(l)]);
  const latencies: number[] = [];
  let stopped = false;
  let id = 0;
  let pending: { id: number; sentAt: number; done: () => void } | undefined;
  socket.on('message', (msg) => {
    if (!pending || msg.readUInt16BE(0) !== pending.id) return;
    latencies.push(performance.now() - pending.sentAt);
    pending.done();
  });
  const loop = (async () => {
    while (!stopped) {
      id = (id + 1) & 0xffff;
      const header = Buffer.alloc(12);
      header.writeUInt16BE(id, 0);
      header.writeUInt16BE(0x0100, 2); // RD
      header.writeUInt16BE(1, 4); // QDCOUNT
      const query = Buffer.concat([header, ...labels, Buffer.from('0000010001', 'hex')]);
      await new Promise<void>((resolve) => {
        pending = { id, sentAt: performance.now(), done: resolve };
        socket.send(query, port, '127.0.0.1');
      });
      pending = undefined;
      await new Promise((r) => setTimeout(r, 1));
    }
  })();
  return {
    async stop() {
      stopped = true;
      if (pending) {
        latencies.push(performance.now() - pending.sentAt);
        pending.done();
      }
      await loop;
      socket.close();
      const sorted = [...latencies].sort((x, y) => x - y);
      return { answered: latencies.length, maxMs: sorted.at(-1) ?? Number.NaN, p99Ms: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? Number.NaN };
    },
  };
}

async function watch(name: string, check: () => Promise<boolean>, start: number, limitMs = 120_000): Promise<[string, number]> {
  for (;;) {
    if (await check()) return [name, performance.now() - start];
    if (performance.now() - start > limitMs) return [name, Number.NaN];
    await new Promise((r) => setTimeout(r, 2));
  }
}

if (!(await sessionsAcceptedOnB())) throw new Error('sample sessions not valid on B before the declaration');

// --- Gatehouse: one declaration ---
const incidents = createIncidentResponse({ core, ipBlocks: a.gatehouse.access.ipBlocks });
let reenrolledAt = Number.NaN;
const dnsDuringDeclaration = probeDnsLatency(dnsPortB, PROBE_NAME);
const start = performance.now();
const watchers = Promise.all([
  watch('sessions refused on B (64 sampled)', sessionsRefusedOnB, start),
  watch('relay IP refused on B', ipRefusedOnB, start),
  watch('lookalike NXDOMAIN on B (dig)', domainBlockedOnB, start),
]);
const declared = await incidents.declare({ title: 'bench: SMS phishing', domains: [DOMAIN], ips: [RELAY_IP], allSessions: true }, { actor: 'bench' });
if (!('incident' in declared)) throw new Error('dry run?');
const declareMs = performance.now() - start;
const reenroll = declared.incident.timeline.find((t) => t.step === 'force_reenrollment')!;
reenrolledAt = reenroll.sinceDeclarationMs ?? Number.NaN;
const seen = await watchers;
const dnsDeclaration = await dnsDuringDeclaration.stop();
const containedMs = Math.max(...seen.map(([, ms]) => ms), reenrolledAt);
const revoked = Number(declared.incident.timeline.find((t) => t.step === 'revoke_sessions')!.result?.revoked ?? 0);

// --- baseline: the same revocations, one user at a time ---
await db.deleteFrom('sessions').execute();
await new Promise((r) => setTimeout(r, 5));
sampleTokens = await seedSessions();
if (!(await sessionsAcceptedOnB())) throw new Error('sample sessions not valid on B before the baseline');
const dnsDuringBaseline = probeDnsLatency(dnsPortB, PROBE_NAME);
const baseStart = performance.now();
const baseWatch = watch('sessions refused on B (64 sampled)', sessionsRefusedOnB, baseStart, 600_000);
let baseRevoked = 0;
for (const userId of userIds) baseRevoked += await core.identity.revokeUserSessions(userId, { actor: 'bench', reason: 'naive loop' });
const baseLoopMs = performance.now() - baseStart;
const [, baseSeenMs] = await baseWatch;
// B has read every row of the loop once the sampled sessions are refused there; give the tail a poll more.
await new Promise((r) => setTimeout(r, 500));
const dnsBaseline = await dnsDuringBaseline.stop();

const f = (ms: number) => (Number.isNaN(ms) ? 'not seen' : `${ms.toFixed(0)} ms`);
const lines = [
  `incident containment: ${USERS} users, ${SESSIONS} live sessions, ${VICTIMS} relay victims, 2 instances on PostgreSQL (seeded in ${(seedMs / 1000).toFixed(1)} s)`,
  '',
  '| approach | sessions revoked | declaration returned | every containment step in effect on instance B |',
  '|---|---:|---:|---:|',
  `| Gatehouse \`incident declare --all-sessions\` | ${revoked} | ${f(declareMs)} | **${f(containedMs)}** |`,
  `| naive loop: revokeUserSessions per user | ${baseRevoked} | ${f(baseLoopMs)} | ${f(baseSeenMs)} (sessions only) |`,
  '',
  'DNS gateway on instance B while it applies the change from the feed (one UDP query at a time):',
  '',
  '| during | queries answered | p99 latency | max latency |',
  '|---|---:|---:|---:|',
  `| Gatehouse declaration (1 session.revoked_all row + re-enrollment rows) | ${dnsDeclaration.answered} | ${dnsDeclaration.p99Ms.toFixed(1)} ms | ${dnsDeclaration.maxMs.toFixed(1)} ms |`,
  `| naive loop (${USERS} session.revoked_user rows) | ${dnsBaseline.answered} | ${dnsBaseline.p99Ms.toFixed(1)} ms | ${dnsBaseline.maxMs.toFixed(1)} ms |`,
  '',
  'Gatehouse, per effect (from the declaration):',
  ...seen.map(([name, ms]) => `  ${name.padEnd(38)} ${f(ms)}`),
  `  ${'victims re-enrolled (step end)'.padEnd(38)} ${f(reenrolledAt)}`,
  '',
  'timeline:',
  ...declared.incident.timeline.map((t) => `  ${t.step.padEnd(19)} ${String(t.durationMs).padStart(6)} ms  ${JSON.stringify(t.result).slice(0, 110)}`),
  '',
  `target: containment in effect everywhere <= 1000 ms: ${containedMs <= 1000 ? 'MET' : 'NOT MET'}`,
];
process.stdout.write(`${lines.join('\n')}\n`);

await incidents.dispose();
await poolB.close();
await b.stop();
await a.close();
await hooks.close();
await upstream.close();
await new Promise((r) => app.close(r));
