/**
 * npm run bench:login — complete WebAuthn sign-ins per second over HTTP: options (challenge stored),
 * assertion verification (origin, RP ID hash, signature, counter), session issue, audit row.
 * Gatehouse runs in its own process; this process plays N users with software authenticators.
 * Baselines measured in the same run: the same server's password sign-in (argon2id, what a password IdP
 * such as Keycloak spends its time on) and the bare signature verification ceiling on one core.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { loadConfigFile } from '../src/config/index.js';
import { openCore } from '../src/core.js';
import { verifyAuthentication } from '../src/identity/webauthn/index.js';
import { SoftwareAuthenticator } from '../src/identity/webauthn/test-support/software-authenticator.js';
import { systemClock } from '../src/lib/clock.js';
import { cryptoRandom } from '../src/lib/random.js';
import { havePostgres, POSTGRES_TEST_URL } from '../test/peers.js';
import { fixtureConfigYaml, freePort, freshPostgresDatabase } from '../test/support/gatehouse-fixture.js';
import { spawnGatehouse } from '../test/support/serve-process.js';

const DURATION_MS = Number(process.env.BENCH_SECONDS ?? 10) * 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const USERS = 64;
const ROOT = new URL('..', import.meta.url).pathname;

interface Client {
  pool: Pool;
  host: string;
  origin: string;
  cookie: string;
  csrf: string;
}

async function call(client: Client, path: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; json: () => unknown }> {
  const res = await client.pool.request({
    method: 'POST',
    path,
    headers: { host: client.host, origin: client.origin, cookie: client.cookie, 'x-csrf-token': client.csrf, 'content-type': contentType },
    body: contentType === 'application/json' ? JSON.stringify(body) : String(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: () => JSON.parse(text) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** CPU seconds (user + system) a process has used, from /proc (Linux): the server's own cost. */
function cpuSecondsOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ 100)
}

/** CPU seconds of every local PostgreSQL process (backends, WAL writer, ...): the database's share. */
function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuSecondsOf(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

interface Row {
  name: string;
  perSecond: number;
  p50: number;
  p99: number;
  errors: number;
  serverCpuMs?: number;
  databaseCpuMs?: number;
}

async function runLoop(name: string, once: () => Promise<void>, serverPid?: number, postgres = false): Promise<Row> {
  const cpuBefore = cpuSecondsOf(serverPid);
  const databaseCpuBefore = postgres ? postgresCpuSeconds() : 0;
  const latencies: number[] = [];
  let errors = 0;
  const end = Date.now() + DURATION_MS;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < end) {
        const start = performance.now();
        try {
          await once();
          latencies.push(performance.now() - start);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const row: Row = { name, perSecond: latencies.length / (DURATION_MS / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99), errors };
  if (serverPid !== undefined && latencies.length > 0) row.serverCpuMs = ((cpuSecondsOf(serverPid) - cpuBefore) * 1000) / latencies.length;
  if (postgres && latencies.length > 0) row.databaseCpuMs = ((postgresCpuSeconds() - databaseCpuBefore) * 1000) / latencies.length;
  return row;
}

async function startServer(engine: 'sqlite' | 'postgres'): Promise<{ client: Client; child: ChildProcess; dir: string; configPath: string; port: number }> {
  const dir = mkdtempSync(join(tmpdir(), `gatehouse-bench-${engine}-`));
  const port = await freePort();
  const databaseUrl = engine === 'postgres' ? await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_bench') : `sqlite:${join(dir, 'bench.db')}`;
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(configPath, fixtureConfigYaml({ dir, port, databaseUrl, legacy: { password: true, totp: false } }).replace('level: info', 'level: warn')
      // One client address drives every sign-in here: lift the per-address limit for the measurement.
      .replace('sign_in_rate_per_minute: 1000', 'sign_in_rate_per_minute: 100000000'));
  const { child } = await spawnGatehouse(configPath);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: CONCURRENCY });
  const host = `sso.acme.localhost:${port}`;
  const origin = `http://sso.acme.localhost:${port}`;
  const page = await pool.request({ method: 'GET', path: '/sign-in', headers: { host } });
  const setCookie = [page.headers['set-cookie']].flat().join(';');
  const csrf = /gatehouse_csrf=([^;]+)/.exec(setCookie)![1]!;
  await page.body.dump();
  return { client: { pool, host, origin, cookie: `gatehouse_csrf=${csrf}`, csrf }, child, dir, configPath, port };
}

async function benchEngine(engine: 'sqlite' | 'postgres') {
  const server = await startServer(engine);
  const { client } = server;
  const core = await openCore(loadConfigFile(server.configPath), { clock: systemClock, random: cryptoRandom });
  const keys: SoftwareAuthenticator[] = [];
  for (let i = 0; i < USERS; i++) {
    const invite = await core.identity.invite({ email: `bench${i}@acme.test`, actor: 'bench' });
    await core.identity.legacy.setPassword(invite.user.id, 'correct horse battery staple');
    const token = new URL(invite.url).searchParams.get('token')!;
    const start = (await call(client, '/api/enroll/options', { token })).json() as { challengeId: string; options: { challenge: string; user: { id: string } } };
    const key = new SoftwareAuthenticator();
    const response = key.register({ challenge: start.options.challenge, origin: client.origin, rpId: 'acme.localhost', userId: new Uint8Array(Buffer.from(start.options.user.id, 'base64url')) });
    const pending = await call(client, '/api/enroll/verify', { challengeId: start.challengeId, token, response, name: 'bench' });
    if (pending.status !== 200) throw new Error(`registration failed: ${pending.status}`);
    const activation = pending.json() as { activationId: string; options: { challenge: string } };
    const proof = key.authenticate({ challenge: activation.options.challenge, origin: client.origin, rpId: 'acme.localhost' });
    const done = await call(client, '/api/enroll/activate', { activationId: activation.activationId, token, response: proof });
    if (done.status !== 200) throw new Error(`enrollment failed: ${done.status}`);
    keys.push(key);
  }
  // A key is used by one sign-in at a time: two assertions from one key racing would (rightly) be
  // refused as a counter regression.
  const idle = [...keys];
  const webauthn = await runLoop(`WebAuthn sign-in, ${engine}`, async () => {
    const key = idle.pop()!;
    try {
      await signInOnce(key);
    } finally {
      idle.unshift(key);
    }
  }, server.child.pid, engine === 'postgres');
  async function signInOnce(key: SoftwareAuthenticator) {
    const start = await call(client, '/api/sign-in/options', {});
    if (start.status !== 200) throw new Error('options');
    const { challengeId, options } = start.json() as { challengeId: string; options: { challenge: string } };
    const response = key.authenticate({ challenge: options.challenge, origin: client.origin, rpId: 'acme.localhost' });
    const verified = await call(client, '/api/sign-in/verify', { challengeId, response });
    if (verified.status !== 200) throw new Error(`verify ${verified.status}`);
  }
  // The password baseline needs users without keys (a user with a key is refused password sign-in).
  const legacyUsers: string[] = [];
  for (let i = 0; i < 16; i++) {
    const user = await core.identity.users.add({ email: `pw${i}@acme.test` });
    await core.identity.legacy.setPassword(user.id, 'correct horse battery staple');
    legacyUsers.push(user.email);
  }
  let nextPw = 0;
  const password = engine === 'sqlite'
    ? await runLoop('password sign-in (argon2id), sqlite — baseline', async () => {
        const email = legacyUsers[nextPw++ % legacyUsers.length]!;
        const res = await call(client, '/sign-in/password', `email=${encodeURIComponent(email)}&password=correct+horse+battery+staple`, 'application/x-www-form-urlencoded');
        if (res.status !== 303) throw new Error(`password ${res.status}`);
      }, server.child.pid)
    : undefined;
  const sessions = await core.identity.sessions.countActive();
  await core.close();
  await client.pool.close();
  server.child.kill('SIGTERM');
  await new Promise((r) => server.child.once('exit', r));
  rmSync(server.dir, { recursive: true, force: true });
  return { results: [webauthn, ...(password ? [password] : [])], sessions };
}

async function verifyCeiling(): Promise<Row> {
  const key = new SoftwareAuthenticator();
  const origin = 'https://sso.acme.localhost';
  const challenge = new Uint8Array(32);
  key.register({ challenge, origin, rpId: 'acme.localhost' });
  const rp = { id: 'acme.localhost', name: 'Acme', origins: [origin] };
  const responses = Array.from({ length: 2000 }, () => key.authenticate({ challenge, origin, rpId: 'acme.localhost' }));
  let counter = 0;
  const start = performance.now();
  for (const response of responses) {
    const verified = await verifyAuthentication({ response, expectedChallenge: challenge, rp, credential: { id: key.id, publicKey: key.cosePublicKey(), counter }, requireUserVerification: false });
    counter = verified.newCounter;
  }
  const seconds = (performance.now() - start) / 1000;
  return { name: 'verifyAuthentication alone, 1 core — ceiling', perSecond: responses.length / seconds, p50: 0, p99: 0, errors: 0 };
}

const rows: Row[] = [];
const sqlite = await benchEngine('sqlite');
rows.push(...sqlite.results);
if (await havePostgres()) rows.push(...(await benchEngine('postgres')).results);
rows.push(await verifyCeiling());

console.log(`\nLogin benchmark: ${CONCURRENCY} concurrent clients, ${DURATION_MS / 1000} s per row, ${USERS} users; client, server and database share this machine's ${cpus().length} cores\n`);
console.log('| what | per second | p50 ms | p99 ms | errors | server CPU ms each | per server core-second | PostgreSQL CPU ms each |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) {
  const cpu = r.serverCpuMs ? `${r.serverCpuMs.toFixed(2)} | ${(1000 / r.serverCpuMs).toFixed(0)}` : '- | -';
  const database = r.databaseCpuMs === undefined ? '-' : r.databaseCpuMs.toFixed(2);
  console.log(`| ${r.name} | ${r.perSecond.toFixed(0)} | ${r.p50 ? r.p50.toFixed(1) : '-'} | ${r.p99 ? r.p99.toFixed(1) : '-'} | ${r.errors} | ${cpu} | ${database} |`);
}
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/login.json'), JSON.stringify({ measuredAt: new Date().toISOString(), concurrency: CONCURRENCY, seconds: DURATION_MS / 1000, rows }, null, 2));
