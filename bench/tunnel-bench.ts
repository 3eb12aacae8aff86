/**
 * `npm run bench:tunnel [-- --size-mib 256 --messages 2000]`: TCP through the access proxy against the
 * same work without it, in one run on loopback.
 * - bulk: scp (-O) of a random file to a local sshd, direct and through `ProxyCommand gatehouse tunnel
 *   %n --stdio` (the figure's size is 1 GiB: `--size-mib 1024`), and through the same two hops with no
 *   Gatehouse: socat as the ProxyCommand, and bare ws relays (bench/tunnel/bare-ws-relay.mjs); each
 *   `--repeat` times (default 2), interleaved, the fastest counting;
 * - latency: 64-byte round trips to a TCP echo server, direct and through a tunnel (median, p95);
 * - certificates: POST /cli/ssh/certificate per second, sequential and 16 at once, against the same
 *   CA signing without HTTP, credential check or policy.
 * Gatehouse runs in this process (SQLite); the tunnel client of the latency rows too, so their figure
 * holds both ends' work. The ProxyCommand runs the CLI as it ships, plain JavaScript (`src/` transpiled
 * once by esbuild, as the tests' global setup does), not TypeScript compiled by tsx at every start;
 * `--cli FILE` runs another build's `src/cli/bin.js` instead (to compare two). Writes bench/results/tunnel.json.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { build } from 'esbuild';
import { request } from 'undici';
import { credentialsFilePath, writeCliCredential } from '../src/cli/cli-credentials-file.js';
import { openTunnelStream } from '../src/cli/tunnel-client.js';
import { systemClock } from '../src/lib/clock.js';
import { cryptoRandom } from '../src/lib/random.js';
import { createSshCertificateAuthority, generateSessionKey, sshSettingsOf } from '../src/ssh/index.js';
import { keygen, startCaSshd } from '../src/ssh/test-support/ssh-peers.js';
import { findExecutable } from '../test/peers.js';
import { startFixture, type GatehouseFixture } from '../test/support/gatehouse-fixture.js';
import { TestBrowser } from '../test/support/http-client.js';
import { enrolThroughPortal } from '../test/support/portal-sign-in.js';

const ROOT = new URL('..', import.meta.url).pathname;
const flag = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const textFlag = (name: string) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const SIZE_MIB = flag('size-mib', 256);
const MESSAGES = flag('messages', 2000);
const CERTIFICATES = flag('certificates', 400);
const REPEAT = flag('repeat', 2);
const BARE_RELAY = join(new URL('.', import.meta.url).pathname, 'tunnel/bare-ws-relay.mjs');

/** bench/tunnel/bare-ws-relay.mjs's server end in its own process, relaying to `upstreamPort`. */
async function startBareRelay(upstreamPort: number): Promise<{ port: number; stop(): void }> {
  const child = spawn(process.execPath, [BARE_RELAY, 'server', String(upstreamPort)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString('utf8').trim())));
    child.once('exit', (code) => reject(new Error(`bare-ws-relay exited (${code})`)));
  });
  return { port, stop: () => child.kill() };
}
const login = userInfo().username;

const REDIRECT_URI = 'http://127.0.0.1:53682/callback';

/** `ssh:` of the bench: `ops` maps to this login; the `servers` app lets ops in. */
const sshYaml = (user: string) => `ssh:
  certificate_requests_per_minute: 1000000
  principals:
    - { group: ops, logins: [${user}] }
  apps:
    - { name: servers, policies: [{ action: allow, include: [{ group: [ops] }] }] }
`;

/** `gatehouse login` as the CLI and a signed-in browser play it (authorize, consent, token with PKCE). */
async function cliCredential(fx: GatehouseFixture, browser: TestBrowser): Promise<string> {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL('/cli/authorize', fx.portalOrigin);
  const params = { response_type: 'code', client_id: 'gatehouse-cli', redirect_uri: REDIRECT_URI, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', state: 'state-0123456789' };
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const page = await browser.fetch(url.toString());
  const fields = Object.fromEntries([...page.body.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
  const posted = await browser.fetch(`${fx.portalOrigin}/cli/authorize`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  const code = new URL(posted.location!).searchParams.get('code');
  const res = await request(`http://127.0.0.1:${fx.port}/cli/token`, { method: 'POST', headers: { host: fx.portalHost, 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT_URI }) });
  const body = (await res.body.json()) as { credential?: string };
  if (!body.credential) throw new Error(`no credential: ${JSON.stringify(body)}`);
  return body.credential;
}

async function certificate(fx: GatehouseFixture, credential: string, publicKey: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await request(`http://127.0.0.1:${fx.port}/cli/ssh/certificate`, {
    method: 'POST',
    headers: { host: fx.portalHost, 'content-type': 'application/json', authorization: `Bearer ${credential}` },
    body: JSON.stringify({ app: 'servers', public_key: publicKey }),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

function run(argv: string[], env: Record<string, string>): Promise<{ code: number | null; ms: number; stderr: string }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...(process.env.NODE_PATH ? { NODE_PATH: process.env.NODE_PATH } : {}), ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('close', (code) => resolve({ code, ms: performance.now() - started, stderr }));
  });
}

/**
 * `src/` as plain JavaScript below `.test-build/` (so its packages resolve from node_modules), as
 * `npm run build` would ship it; returns the CLI's entry point and the folder to remove.
 */
async function transpiledCli(): Promise<{ bin: string; dir: string }> {
  mkdirSync(join(ROOT, '.test-build'), { recursive: true });
  const dir = mkdtempSync(join(ROOT, '.test-build', 'bench-'));
  const sources = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'));
  await build({ entryPoints: sources.map((file) => join(ROOT, 'src', file)), outdir: dir, outbase: ROOT, format: 'esm', platform: 'node', target: 'node20', supported: { 'import-attributes': true }, logLevel: 'error' });
  return { bin: join(dir, 'src/cli/bin.js'), dir };
}

async function roundTrips(stream: Duplex, count: number): Promise<number[]> {
  const message = Buffer.alloc(64, 1);
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = process.hrtime.bigint();
    await new Promise<void>((resolve) => {
      let got = 0;
      const onData = (chunk: Buffer) => {
        got += chunk.length;
        if (got >= message.length) {
          stream.off('data', onData);
          resolve();
        }
      };
      stream.on('data', onData);
      stream.write(message);
    });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return times;
}

const percentile = (values: number[], p: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-tunnel-bench-'));
  const echo = createServer((socket) => {
    socket.setNoDelay(true);
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  const echoPort = (echo.address() as AddressInfo).port;
  // Reads and discards, and closes when the client has sent everything.
  const sink = createServer((socket) => {
    socket.resume();
    socket.once('end', () => socket.end());
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const sinkPort = (sink.address() as AddressInfo).port;
  const sshdBinary = findExecutable('sshd', ['/usr/sbin/sshd']);
  if (!sshdBinary) throw new Error('sshd is needed (apt-get install openssh-server)');
  const sshd = await startCaSshd({ sshdBinary, trustedUserCaKeys: '' });
  if (typeof sshd === 'string') throw new Error(sshd);
  const fx = await startFixture({
    extraYaml: `${sshYaml(login)}tcp:
  apps:
    - { name: echo, upstream: "127.0.0.1:${echoPort}", policies: [{ action: allow, include: [{ group: [ops] }] }] }
    - { name: bastion, upstream: "127.0.0.1:${sshd.port}", policies: [{ action: allow, include: [{ group: [ops] }] }] }
    - { name: sink, upstream: "127.0.0.1:${sinkPort}", policies: [{ action: allow, include: [{ group: [ops] }] }] }
`,
  });
  const rows: { measure: string; baseline: string; gatehouse: string; ratio: string }[] = [];
  const results: Record<string, unknown> = { sizeMib: SIZE_MIB, messages: MESSAGES };
  try {
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'bench@acme.localhost', ['ops']);
    const credential = await cliCredential(fx, browser);
    const env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    writeCliCredential(credentialsFilePath(env), { portal: fx.portalOrigin, credential, email: 'bench@acme.localhost', expiresAt: Date.now() + 3_600_000 });
    const stored = { portal: fx.portalOrigin, credential, email: 'bench@acme.localhost', expiresAt: Date.now() + 3_600_000 };

    // Latency: one connection each, sequential 64-byte round trips, after a warm-up.
    const direct = connect(echoPort, '127.0.0.1');
    direct.setNoDelay(true);
    await new Promise<void>((resolve) => direct.once('connect', () => resolve()));
    await roundTrips(direct, 200);
    const directTimes = await roundTrips(direct, MESSAGES);
    direct.destroy();
    const tunnel = await openTunnelStream(stored, 'echo');
    await roundTrips(tunnel, 200);
    const tunnelTimes = await roundTrips(tunnel, MESSAGES);
    tunnel.destroy();
    const [dMed, dP95, tMed, tP95] = [percentile(directTimes, 50), percentile(directTimes, 95), percentile(tunnelTimes, 50), percentile(tunnelTimes, 95)];
    rows.push({ measure: 'round trip 64 B, median ms', baseline: dMed.toFixed(3), gatehouse: tMed.toFixed(3), ratio: `+${(tMed - dMed).toFixed(3)} ms` });
    rows.push({ measure: 'round trip 64 B, p95 ms', baseline: dP95.toFixed(3), gatehouse: tP95.toFixed(3), ratio: `+${(tP95 - dP95).toFixed(3)} ms` });
    results.latency = { directMedianMs: dMed, directP95Ms: dP95, tunnelMedianMs: tMed, tunnelP95Ms: tP95 };

    // Bulk: a user certificate through the ssh path, its CA trusted by sshd, then scp both ways of reaching it.
    const key = await keygen(dir, 'id_ed25519');
    const issued = await certificate(fx, credential, key.publicKey);
    writeFileSync(`${key.privateKeyFile}-cert.pub`, `${String(issued.body.certificate)}\n`);
    const core = fx.gatehouse.core;
    const ca = createSshCertificateAuthority({ db: core.store.db, sealer: core.secrets, clock: systemClock, random: cryptoRandom, audit: core.audit, settings: sshSettingsOf(core.snapshot().config.ssh) });
    await ca.open('bench');
    writeFileSync(sshd.trustedUserCaKeysFile, ca.trustedUserCaKeys());
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${sshd.port} ${sshd.hostPublicKey.trim()}\nbastion ${sshd.hostPublicKey.trim()}\n`);
    const source = join(dir, 'payload.bin');
    const fd = openSync(source, 'w');
    for (let i = 0; i < SIZE_MIB; i++) writeSync(fd, randomBytes(1 << 20));
    closeSync(fd);
    const common = ['-O', '-q', '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none', '-o', `IdentityFile=${key.privateKeyFile}`, '-o', `CertificateFile=${key.privateKeyFile}-cert.pub`, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', '-o', `User=${login}`];
    const target = join(dir, 'copied.bin');
    const given = textFlag('cli');
    const cli = given ? { bin: given, dir: undefined } : await transpiledCli();
    // The floor of the design: the same two hops in bare Node and ws (bench/tunnel/bare-ws-relay.mjs).
    const bare = await startBareRelay(sshd.port);
    // A ProxyCommand without Gatehouse (socat relaying stdio), when installed: what the pipe through a
    // helper process costs by itself.
    const socat = findExecutable('socat', ['/usr/bin/socat']);
    const ways: Record<string, string[] | undefined> = {
      direct: ['-P', String(sshd.port), source, `127.0.0.1:${target}`],
      socat: socat ? ['-o', `ProxyCommand=${socat} - TCP:127.0.0.1:${sshd.port}`, source, `bastion:${target}`] : undefined,
      bare: ['-o', `ProxyCommand=${process.execPath} ${BARE_RELAY} client ${bare.port}`, source, `bastion:${target}`],
      tunnel: ['-o', `ProxyCommand=${process.execPath} ${cli.bin} tunnel %n --stdio`, source, `bastion:${target}`],
    };
    // Each way REPEAT times, interleaved (a burst of load elsewhere hits all of them alike); the
    // fastest run of each counts, the usual reading of throughput on a shared machine.
    const best: Record<string, { code: number | null; ms: number; stderr: string }> = {};
    for (let round = 0; round < REPEAT; round++) {
      for (const [way, args] of Object.entries(ways)) {
        if (!args) continue;
        const result = await run(['scp', ...common, ...args], env);
        rmSync(target, { force: true });
        if (result.code !== 0) throw new Error(`scp (${way}) failed: ${result.stderr}`);
        if (!best[way] || result.ms < best[way].ms) best[way] = result;
      }
    }
    const [viaDirect, viaSocat, viaBare, viaTunnel] = [best.direct!, best.socat, best.bare!, best.tunnel!];
    bare.stop();
    // CPU seconds of each end of the tunnel per GiB, which a busy machine's wall clock hides: the file
    // piped through `gatehouse tunnel sink --stdio` (GNU time counts that process) to a server that
    // discards it; this process serves the other end and does nothing else meanwhile.
    const gnuTime = findExecutable('time', ['/usr/bin/time']);
    const serverCpuBefore = process.cpuUsage();
    const serverFaultsBefore = process.resourceUsage().minorPageFault;
    const pumped = gnuTime ? await run(['sh', '-c', `cat "$0" | ${gnuTime} -f "cpu %U %S faults %R" ${process.execPath} ${cli.bin} tunnel sink --stdio > /dev/null`, source], env) : undefined;
    const serverCpu = process.cpuUsage(serverCpuBefore);
    const serverFaults = process.resourceUsage().minorPageFault - serverFaultsBefore;
    if (cli.dir) rmSync(cli.dir, { recursive: true, force: true });
    const clientCpu = pumped ? /cpu ([0-9.]+) ([0-9.]+) faults (\d+)/.exec(pumped.stderr) : null;
    const clientCpuSeconds = clientCpu ? Number(clientCpu[1]) + Number(clientCpu[2]) : undefined;
    const serverCpuSeconds = (serverCpu.user + serverCpu.system) / 1e6;
    const mibs = (ms: number) => SIZE_MIB / (ms / 1000);
    const scpRow = (what: string, way: { ms: number }, note = '') => ({ measure: `scp ${SIZE_MIB} MiB${what}, MiB/s (best of ${REPEAT})`, baseline: mibs(viaDirect.ms).toFixed(1), gatehouse: mibs(way.ms).toFixed(1), ratio: `${(mibs(way.ms) / mibs(viaDirect.ms)).toFixed(2)}×${note}` });
    rows.push(scpRow('', viaTunnel));
    if (viaSocat) rows.push(scpRow(' via socat ProxyCommand', viaSocat, ' (no Gatehouse)'));
    rows.push(scpRow(' via bare ws relays', viaBare, ' (no Gatehouse)'));
    const perGib = (seconds: number) => ((seconds * 1024) / SIZE_MIB).toFixed(2);
    rows.push({ measure: 'CPU s per GiB up a tunnel: client / server end', baseline: '-', gatehouse: `${clientCpuSeconds === undefined ? '?' : perGib(clientCpuSeconds)} / ${perGib(serverCpuSeconds)}`, ratio: '-' });
    // Page faults say whether the heap is handed back to the kernel at each GC (src/lib/keep-freed-heap.ts).
    const faultsPerGib = (faults: number) => `${Math.round((faults * 1024) / SIZE_MIB / 1000)}k`;
    rows.push({ measure: 'minor page faults per GiB: client / server end', baseline: '-', gatehouse: `${clientCpu ? faultsPerGib(Number(clientCpu[3])) : '?'} / ${faultsPerGib(serverFaults)}`, ratio: '-' });
    results.bulk = { repeat: REPEAT, directMs: viaDirect.ms, tunnelMs: viaTunnel.ms, socatProxyCommandMs: viaSocat?.ms ?? null, bareWsRelayMs: viaBare.ms, proxyCommandCpuSeconds: clientCpuSeconds ?? null, serverCpuSeconds, proxyCommandMinorFaults: clientCpu ? Number(clientCpu[3]) : null, serverMinorFaults: serverFaults };

    // Certificates: the HTTP endpoint (credential, policy, CA) against the CA's signing alone.
    const publicKey = generateSessionKey().publicKeyLine;
    const perSecond = async (count: number, concurrency: number, one: () => Promise<unknown>) => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < count) await one();
        }),
      );
      return count / ((performance.now() - started) / 1000);
    };
    const identity = { userId: 'bench', email: 'bench@acme.localhost', groups: ['ops'], sessionHandle: '0123456789abcdef', authMethod: 'webauthn' };
    for (const concurrency of [1, 16]) {
      const signing = await perSecond(CERTIFICATES, concurrency, () => ca.issueUserCertificate(identity, publicKey, 'bench'));
      const http = await perSecond(CERTIFICATES, concurrency, async () => {
        const reply = await certificate(fx, credential, publicKey);
        if (reply.status !== 200) throw new Error(`certificate refused: ${JSON.stringify(reply.body)}`);
      });
      rows.push({ measure: `certificates/s, ${concurrency === 1 ? 'sequential' : '16 concurrent'}`, baseline: signing.toFixed(0), gatehouse: http.toFixed(0), ratio: `${(http / signing).toFixed(2)}×` });
      results[`certificates${concurrency}`] = { signingPerSecond: signing, httpPerSecond: http };
    }
  } finally {
    await fx.close();
    await sshd.stop();
    echo.close();
    sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log('baseline: direct TCP / direct scp / CA signing without HTTP');
  console.table(rows);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench/results/tunnel.json'), `${JSON.stringify({ at: new Date().toISOString(), ...results, rows }, null, 2)}\n`);
}

await main();
process.exit(0);
