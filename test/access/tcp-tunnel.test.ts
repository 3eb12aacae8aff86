/**
 * `gatehouse tunnel`: TCP through the access proxy, end to end on two instances sharing PostgreSQL.
 * Real peers: a TCP echo server, the PostgreSQL server itself (psql through `--local`), and sshd
 * reached by ssh and scp through `ProxyCommand gatehouse tunnel %n --stdio` (the built CLI as a
 * process). Then what an attacker meets: a revoked session (on the other instance), a denied policy,
 * a client-chosen target, a cross-site upgrade, no credential, an address blocked mid-tunnel, the cap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import WebSocket from 'ws';
import { credentialsFilePath, writeCliCredential } from '../../src/cli/cli-credentials-file.js';
import { openTunnelStream } from '../../src/cli/tunnel-client.js';
import type { GatehouseError } from '../../src/lib/errors.js';
import { startCaSshd, type CaSshd } from '../../src/ssh/test-support/ssh-peers.js';
import { findExecutable, havePostgres, haveCommand, POSTGRES_TEST_URL } from '../peers.js';
import { runGatehouse } from '../support/cli.js';
import { cliLoginSshYaml, cliLoginSteps } from '../support/cli-login-steps.js';
import { freePort, freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { builtCli } from '../support/paths.js';
import { runChild as runSshChild, sshThroughTunnel } from '../support/ssh-through-tunnel.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const pgAvailable = await havePostgres();
const haveSsh = haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('scp');
const havePsql = haveCommand('psql');
const login = userInfo().username;

async function pollUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Writes `text` and reads until as many bytes came back. */
async function roundTrip(stream: Duplex, text: string): Promise<string> {
  let got = '';
  const done = new Promise<string>((resolve) => {
    const onData = (chunk: Buffer) => {
      got += chunk.toString('utf8');
      if (got.length >= text.length) {
        stream.off('data', onData);
        resolve(got);
      }
    };
    stream.on('data', onData);
  });
  stream.write(text);
  return done;
}

const closedOf = (stream: Duplex) => new Promise<void>((resolve) => (stream.destroyed ? resolve() : stream.once('close', () => resolve())));

describe.runIf(pgAvailable)('tcp tunnels through the access proxy (two instances, PostgreSQL)', () => {
  let a: GatehouseFixture;
  let b: GatehouseFixture;
  let echo: Server;
  let other: Server;
  let sshd: CaSshd | undefined;
  let dir: string;
  let envA: Record<string, string>;
  let envB: Record<string, string>;
  let browser: TestBrowser;
  let currentEmail = 'ann@acme.localhost';
  const sockets = new Set<Socket>();
  const children = new Set<ChildProcess>();

  const listen = async (onConnection: (socket: Socket) => void) => {
    const server = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      onConnection(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return server;
  };
  const portOf = (server: Server) => (server.address() as AddressInfo).port;
  const storedFor = (fx: GatehouseFixture, env: Record<string, string>) => {
    const raw = JSON.parse(readFileSync(credentialsFilePath(env), 'utf8')) as { credential: string; email: string; expires_at: number };
    return { portal: fx.portalOrigin, credential: raw.credential, email: raw.email, expiresAt: raw.expires_at };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-tunnel-'));
    echo = await listen((socket) => socket.pipe(socket));
    // Another service on the same host: a client must never be able to aim a tunnel at it.
    other = await listen((socket) => socket.end('OTHER'));
    if (haveSsh) {
      // Trusts nothing until the CA exists (sshd reads the file at every login).
      const started = await startCaSshd({ sshdBinary: findExecutable('sshd', ['/usr/sbin/sshd'])!, trustedUserCaKeys: '' });
      if (typeof started === 'string') throw new Error(started);
      sshd = started;
    }
    const yaml = `${cliLoginSshYaml(login)}tcp:
  apps:
    - name: echo
      upstream: 127.0.0.1:${portOf(echo)}
      max_tunnels_per_user: 3
      policies: [{ action: allow, include: [{ group: [ops] }] }]
    - name: db
      upstream: 127.0.0.1:5432
      policies: [{ action: allow, include: [{ group: [ops] }] }]
    - name: office
      upstream: 127.0.0.1:${portOf(echo)}
      policies: [{ action: allow, include: [{ everyone: true }], require: [{ ip: [10.0.0.0/8] }] }]
${sshd ? `    - name: bastion\n      upstream: 127.0.0.1:${sshd.port}\n      policies: [{ action: allow, include: [{ group: [ops] }] }]\n` : ''}`;
    const databaseUrl = await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_tunnel');
    a = await startFixture({ databaseUrl, extraYaml: yaml });
    b = await startFixture({ databaseUrl, extraYaml: yaml, port: await freePort() });
    browser = new TestBrowser(a.port);
    await enrolThroughPortal(a, browser, 'ann@acme.localhost', ['ops']);
    const credential = await cliLoginSteps(a).credentialFor(browser);
    envA = { XDG_CONFIG_HOME: join(dir, 'config-a'), HOME: dir, PATH: process.env.PATH ?? '' };
    envB = { XDG_CONFIG_HOME: join(dir, 'config-b'), HOME: dir, PATH: process.env.PATH ?? '' };
    const expiresAt = Date.now() + 3_600_000;
    writeCliCredential(credentialsFilePath(envA), { portal: a.portalOrigin, credential, email: 'ann@acme.localhost', expiresAt });
    writeCliCredential(credentialsFilePath(envB), { portal: b.portalOrigin, credential, email: 'ann@acme.localhost', expiresAt });
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    for (const socket of sockets) socket.destroy();
    await sshd?.stop();
    await b?.close();
    await a?.close();
    await new Promise((r) => echo?.close(r));
    await new Promise((r) => other?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The built CLI as a process, `gatehouse tunnel APP --local 127.0.0.1:PORT`, once it listens. */
  async function startLocalTunnel(app: string, env: Record<string, string>): Promise<number> {
    const port = await freePort();
    const child = spawn(process.execPath, [builtCli(), 'tunnel', app, '--local', `127.0.0.1:${port}`], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    children.add(child);
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('listening on')) resolve();
      });
      child.once('exit', () => reject(new Error(`tunnel exited: ${stderr}`)));
    });
    return port;
  }

  it('echoes bytes through --local, and audits the tunnel with its bytes and duration', async () => {
    const port = await startLocalTunnel('echo', envA);
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    expect(await roundTrip(socket, 'hello through the tunnel')).toBe('hello through the tunnel');
    socket.end();
    await closedOf(socket);
    // The command checked the app once before listening (a tunnel of no bytes); this is the connection's.
    const connectionClosed = async () => (await a.gatehouse.core.audit.list({ type: 'tunnel.closed', limit: 5 })).find((event) => (event.detail as Record<string, unknown>).bytes_up !== 0);
    await pollUntil(async () => (await connectionClosed()) !== undefined);
    const closed = await connectionClosed();
    expect(closed!.detail).toMatchObject({ user: 'ann@acme.localhost', app: 'echo', bytes_up: 24, bytes_down: 24 });
    expect(typeof (closed!.detail as Record<string, unknown>).duration_ms).toBe('number');
    expect(JSON.stringify(closed)).not.toContain(storedFor(a, envA).credential);
  });

  it.runIf(havePsql)('runs psql against the real PostgreSQL through --local', async () => {
    const port = await startLocalTunnel('db', envA);
    const result = await runChild(['psql', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'test', '-tAc', 'select 1'], {});
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('1');
  });

  it.runIf(haveSsh)('carries ssh and scp through ProxyCommand gatehouse tunnel %n --stdio to a real sshd', async () => {
    // A user certificate through the ssh path, with the same credential; then trust its CA in sshd.
    const { ca, options } = await sshThroughTunnel({ fx: a, credential: storedFor(a, envA).credential, sshd: sshd!, dir, login, tcpApp: 'bastion' });
    // The block `gatehouse ssh config` prints: this ProxyCommand, and the CA's known_hosts line for the app's name.
    const printed = await runGatehouse(['ssh', 'config', 'bastion', '--user', login], { env: envA });
    expect(printed.stderr).toBe('');
    expect(printed.stdout).toContain('Host bastion\n  ProxyCommand gatehouse tunnel %n --stdio\n');
    expect(printed.stdout).toContain(`#   ${ca.certAuthorityLines('bastion').trim()}`);
    const ssh = await runChild(['ssh', ...options, 'bastion', 'echo tunnel-ok'], envB);
    expect(ssh.stderr).not.toContain('gatehouse:');
    expect(ssh.stdout.trim()).toBe('tunnel-ok');
    const source = join(dir, 'payload.bin');
    const payload = Buffer.alloc(256 * 1024, 7);
    writeFileSync(source, payload);
    const target = join(dir, 'copied.bin');
    // -O: the scp protocol (the test sshd serves no sftp subsystem).
    const scp = await runChild(['scp', '-O', ...options, source, `bastion:${target}`], envB);
    expect(scp.stderr).toBe('');
    expect(scp.exitCode).toBe(0);
    expect(readFileSync(target).equals(payload)).toBe(true);
  });

  it('closes a live tunnel on instance B when the session is revoked through instance A', async () => {
    const stream = await openTunnelStream(storedFor(b, envB), 'echo');
    expect(await roundTrip(stream, 'before')).toBe('before');
    const closed = closedOf(stream);
    const user = await a.gatehouse.core.identity.users.require('ann@acme.localhost');
    await a.gatehouse.core.identity.revokeUserSessions(user.id, { actor: 'test', reason: 'tunnel test' });
    await closed;
    await pollUntil(async () => ((await b.gatehouse.core.audit.list({ type: 'tunnel.closed', limit: 1 }))[0]?.detail as Record<string, unknown> | undefined)?.reason === 'user_changed');
    expect(b.gatehouse.tcpTunnels.openTunnels).toBe(0);
    // The credential died with its session: a new tunnel is refused with the sign-in hint.
    const refused = await openTunnelStream(storedFor(b, envB), 'echo').then(() => undefined, (error: GatehouseError) => error);
    expect(refused?.code).toBe('cli_credential_revoked');
    expect(refused?.publicMessage).toContain('gatehouse login');
    // Signed in again for the tests after this one.
    await enrolAgain();
  });

  it('closes a live tunnel on instance B when the user is disabled through instance A', async () => {
    const stream = await openTunnelStream(storedFor(b, envB), 'echo');
    expect(await roundTrip(stream, 'before')).toBe('before');
    const closed = closedOf(stream);
    const user = await a.gatehouse.core.identity.users.require(currentEmail);
    await a.gatehouse.core.identity.setUserStatus(user.id, 'disabled', 'test');
    await closed;
    await pollUntil(() => b.gatehouse.tcpTunnels.openTunnels === 0);
    await enrolAgain();
  });

  it('closes a live tunnel on instance B when its credential is logged out through instance A', async () => {
    const stream = await openTunnelStream(storedFor(b, envB), 'echo');
    expect(await roundTrip(stream, 'before')).toBe('before');
    const closed = closedOf(stream);
    const out = await runGatehouse(['logout'], { env: envA });
    expect(out.stderr).toBe('');
    await closed;
    await pollUntil(async () => ((await b.gatehouse.core.audit.list({ type: 'tunnel.closed', limit: 1 }))[0]?.detail as Record<string, unknown> | undefined)?.reason === 'credential_revoked');
    await enrolAgain();
  });

  async function enrolAgain(): Promise<void> {
    browser = new TestBrowser(a.port);
    currentEmail = `ann${Date.now()}@acme.localhost`;
    await enrolThroughPortal(a, browser, currentEmail, ['ops']);
    const credential = await cliLoginSteps(a).credentialFor(browser);
    for (const env of [envA, envB]) {
      rmSync(credentialsFilePath(env), { force: true });
      writeCliCredential(credentialsFilePath(env), { portal: env === envA ? a.portalOrigin : b.portalOrigin, credential, email: 'ann@acme.localhost', expiresAt: Date.now() + 3_600_000 });
    }
  }

  it('refuses a denied policy with its reason code', async () => {
    const refused = await openTunnelStream(storedFor(a, envA), 'office').then(() => undefined, (error: GatehouseError) => error);
    expect(refused?.code).toBe('tunnel_policy_denied');
    expect(refused?.publicMessage).toContain('(no_policy_matched)');
    const [event] = await a.gatehouse.core.audit.list({ type: 'tunnel.refused', limit: 1 });
    expect(event).toMatchObject({ code: 'tunnel_policy_denied', detail: { app: 'office', reason: 'no_policy_matched' } });
  });

  it('tells the person to run gatehouse login when there is no credential or it expired', async () => {
    const none = await runGatehouse(['tunnel', 'echo', '--stdio'], { env: { XDG_CONFIG_HOME: join(dir, 'nobody'), HOME: dir } });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('gatehouse login');
    const expired = await openTunnelStream({ ...storedFor(a, envA), expiresAt: Date.now() - 1 }, 'echo').then(() => undefined, (error: GatehouseError) => error);
    expect(expired?.code).toBe('cli_credential_expired');
    expect(expired?.publicMessage).toContain('gatehouse login');
  });

  it('refuses an unknown app, and no request can choose the target', async () => {
    const unknown = await openTunnelStream(storedFor(a, envA), 'nope').then(() => undefined, (error: GatehouseError) => error);
    expect(unknown?.code).toBe('tunnel_app_unknown');
    // A host:port in the path is no app name: not a tunnel request at all (no 101).
    const raw = await upgrade(a, `/cli/tunnel/127.0.0.1:${portOf(other)}`, { authorization: `Bearer ${storedFor(a, envA).credential}` });
    expect(raw.status).not.toBe(101);
    // Query strings and headers naming a target are ignored: the bytes reach the configured upstream.
    const stream = await openTunnelStream({ ...storedFor(a, envA), portal: `${a.portalOrigin}` }, `echo`);
    expect(await roundTrip(stream, 'still-echo')).toBe('still-echo');
    stream.destroy();
    const aimed = await upgrade(a, `/cli/tunnel/echo?host=127.0.0.1&port=${portOf(other)}`, { authorization: `Bearer ${storedFor(a, envA).credential}`, 'x-forwarded-host': `127.0.0.1:${portOf(other)}` });
    expect(aimed.status).toBe(101);
    aimed.ws?.send('aimed');
    expect(await new Promise<string>((resolve) => aimed.ws!.once('message', (data) => resolve(String(data))))).toBe('aimed');
    aimed.ws?.terminate();
  });

  it('refuses a cross-site upgrade (Origin) and one without a bearer credential', async () => {
    const credential = storedFor(a, envA).credential;
    const crossSite = await upgrade(a, '/cli/tunnel/echo', { authorization: `Bearer ${credential}`, origin: 'https://evil.example' });
    expect(crossSite).toMatchObject({ status: 403, code: 'tunnel_origin_refused' });
    const cookieOnly = await upgrade(a, '/cli/tunnel/echo', { cookie: `gatehouse_session=${credential}` });
    expect(cookieOnly).toMatchObject({ status: 401, code: 'cli_credential_invalid' });
  });

  it('serves the known_hosts line of gatehouse ssh config only with a credential', async () => {
    const ask = async (pattern: string, headers: Record<string, string>) => {
      const res = await request(`http://127.0.0.1:${a.port}/cli/ssh/known-hosts?host_pattern=${encodeURIComponent(pattern)}`, { headers: { host: a.portalHost, ...headers } });
      return { status: res.statusCode, body: (await res.body.json()) as { code?: string } };
    };
    expect(await ask('bastion', {})).toMatchObject({ status: 401, body: { code: 'cli_credential_invalid' } });
    expect(await ask('a b\n@revoked *', { authorization: `Bearer ${storedFor(a, envA).credential}` })).toMatchObject({ status: 400, body: { code: 'ssh_bad_request' } });
  });

  it('caps the tunnels one user holds to an app', async () => {
    await pollUntil(() => a.gatehouse.tcpTunnels.openTunnels === 0);
    const open = await Promise.all([1, 2, 3].map(() => openTunnelStream(storedFor(a, envA), 'echo')));
    const fourth = await openTunnelStream(storedFor(a, envA), 'echo').then(() => undefined, (error: GatehouseError) => error);
    expect(fourth?.code).toBe('tunnel_limit');
    for (const stream of open) stream.destroy();
  });

  it('closes a live tunnel when its client address is blocked', async () => {
    const stream = await openTunnelStream(storedFor(b, envB), 'echo');
    expect(await roundTrip(stream, 'x')).toBe('x');
    const closed = closedOf(stream);
    await a.gatehouse.access.ipBlocks.block('127.0.0.1', { reason: 'tunnel test', actor: 'test' });
    try {
      await closed;
      await pollUntil(async () => ((await b.gatehouse.core.audit.list({ type: 'tunnel.closed', limit: 1 }))[0]?.detail as Record<string, unknown> | undefined)?.reason === 'no_longer_allowed');
    } finally {
      await a.gatehouse.access.ipBlocks.unblock('127.0.0.1', 'test');
    }
  });

  /** A raw upgrade to the portal host, as a browser page or a hand-made client would send it. */
  async function upgrade(fx: GatehouseFixture, path: string, headers: Record<string, string>): Promise<{ status: number; code?: string; ws?: WebSocket }> {
    const ws = new WebSocket(`ws://127.0.0.1:${fx.port}${path}`, { headers: { host: `${fx.portalHost}:${fx.port}`, ...headers }, perMessageDeflate: false });
    return new Promise((resolve) => {
      ws.once('open', () => resolve({ status: 101, ws }));
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => {
          const body = (() => {
            try {
              return JSON.parse(text) as { code?: string };
            } catch {
              return {};
            }
          })();
          resolve({ status: res.statusCode ?? 0, ...(body.code ? { code: body.code } : {}) });
        });
      });
      ws.once('error', () => resolve({ status: 0 }));
    });
  }

  const runChild = (argv: string[], env: Record<string, string>) => runSshChild(argv, env, children);
});
