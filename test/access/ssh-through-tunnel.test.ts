/**
 * The ways people use SSH, through `ProxyCommand gatehouse tunnel %n --stdio` (the built CLI as a
 * process) to a real sshd trusting the instance's CA: sftp (put and get, bytes compared), rsync over
 * `-e ssh`, local port forwarding (`ssh -L` to a TCP echo server) and agent forwarding (`ssh -A`: the
 * key in a local ssh-agent is listed by `ssh-add -l` on the server). Forwarding is what the certificate
 * permits: the same sshd refuses both to a certificate of the same CA without the extensions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialsFilePath, writeCliCredential } from '../../src/cli/cli-credentials-file.js';
import { keygen, startCaSshd, type CaSshd } from '../../src/ssh/test-support/ssh-peers.js';
import { findExecutable, haveCommand } from '../peers.js';
import { cliLoginSshYaml, cliLoginSteps } from '../support/cli-login-steps.js';
import { freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';
import { runChild, sshThroughTunnel, type SshThroughTunnel } from '../support/ssh-through-tunnel.js';

const haveSsh = haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('ssh-keygen');
const haveSftp = haveSsh && haveCommand('sftp');
// rsync must be on both ends (the client and the server's login shell); here both are this machine.
const haveRsync = haveSsh && haveCommand('rsync');
const haveAgent = haveSsh && haveCommand('ssh-agent') && haveCommand('ssh-add');
const login = userInfo().username;
const EMAIL = 'ann@acme.localhost';

async function pollUntil<T>(attempt: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Connects to 127.0.0.1:port, writes `text` and collects what comes back until the peer closes or as
 * many bytes arrived; undefined when nothing listens yet.
 */
function exchange(port: number, text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.write(text);
    });
    socket.on('data', (chunk: Buffer) => {
      got += chunk.toString('utf8');
      if (got.length >= text.length) socket.destroy();
    });
    socket.once('error', () => undefined);
    socket.once('close', () => resolve(connected ? got : undefined));
  });
}

describe.runIf(haveSsh)('ssh, sftp, rsync and forwarding through ProxyCommand gatehouse tunnel --stdio', () => {
  let fx: GatehouseFixture;
  let sshd: CaSshd;
  let echo: Server;
  let dir: string;
  let env: Record<string, string>;
  let client: SshThroughTunnel;
  /** A key of the same CA's certificate issued without permit-port-forwarding and permit-agent-forwarding. */
  let plainKeyFile: string;
  const sockets = new Set<Socket>();
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-tunnel-'));
    echo = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const started = await startCaSshd({
      sshdBinary: findExecutable('sshd', ['/usr/sbin/sshd'])!,
      trustedUserCaKeys: '',
      // sshd allows both forwardings by default; said here, so the refusals below come from the certificate.
      extraLines: ['Subsystem sftp internal-sftp', 'AllowTcpForwarding yes', 'AllowAgentForwarding yes'],
    });
    if (typeof started === 'string') throw new Error(started);
    sshd = started;
    const yaml = `${cliLoginSshYaml(login)}  extensions: { permit_port_forwarding: true, permit_agent_forwarding: true }
tcp:
  apps:
    - name: bastion
      upstream: 127.0.0.1:${sshd.port}
      policies: [{ action: allow, include: [{ group: [ops] }] }]
`;
    fx = await startFixture({ extraYaml: yaml });
    const browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, EMAIL, ['ops']);
    const credential = await cliLoginSteps(fx).credentialFor(browser);
    env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
    writeCliCredential(credentialsFilePath(env), { portal: fx.portalOrigin, credential, email: EMAIL, expiresAt: Date.now() + 3_600_000 });
    client = await sshThroughTunnel({ fx, credential, sshd, dir, login, tcpApp: 'bastion' });
    // The configured certificate carries both extensions; the same CA with them switched off signs the plain one.
    const configured = fx.gatehouse.core.snapshot().config.ssh;
    const { createSshCertificateAuthority, sshSettingsOf } = await import('../../src/ssh/index.js');
    const { systemClock } = await import('../../src/lib/clock.js');
    const { cryptoRandom } = await import('../../src/lib/random.js');
    const core = fx.gatehouse.core;
    const plainCa = createSshCertificateAuthority({
      db: core.store.db, sealer: core.secrets, clock: systemClock, random: cryptoRandom, audit: core.audit,
      settings: sshSettingsOf({ ...configured, extensions: { ...configured.extensions, permit_port_forwarding: false, permit_agent_forwarding: false } }),
    });
    await plainCa.open('test');
    const plain = await keygen(dir, 'id_plain');
    const user = await core.identity.users.require(EMAIL);
    const issued = await plainCa.issueUserCertificate({ userId: user.id, email: EMAIL, groups: ['ops'], sessionHandle: 'cli', authMethod: 'cli' }, plain.publicKey, 'test');
    writeFileSync(`${plain.privateKeyFile}-cert.pub`, `${issued.certificate}\n`);
    plainKeyFile = plain.privateKeyFile;
  }, 120_000);

  afterAll(async () => {
    for (const child of children) child.kill('SIGTERM');
    for (const socket of sockets) socket.destroy();
    await sshd?.stop();
    await fx?.close();
    await new Promise((r) => echo?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ssh = (argv: string[], extraEnv: Record<string, string> = {}) => runChild(['ssh', ...argv], { ...env, ...extraEnv }, children);

  it.runIf(haveSftp)('puts and gets a file with sftp, byte for byte', async () => {
    const payload = randomBytes(3 * 1024 * 1024 + 17);
    const source = join(dir, 'sftp-source.bin');
    const remote = join(dir, 'sftp-remote.bin');
    const back = join(dir, 'sftp-back.bin');
    writeFileSync(source, payload);
    const batch = join(dir, 'sftp-batch');
    writeFileSync(batch, `put ${source} ${remote}\nget ${remote} ${back}\n`);
    const sftp = await runChild(['sftp', '-b', batch, ...client.options, 'bastion'], env, children);
    expect(sftp.stderr).not.toContain('gatehouse:');
    expect(sftp.exitCode).toBe(0);
    expect(readFileSync(remote).equals(payload)).toBe(true);
    expect(readFileSync(back).equals(payload)).toBe(true);
  }, 60_000);

  it.runIf(haveRsync)('copies a folder with rsync -e ssh, then only what changed', async () => {
    const source = join(dir, 'rsync-source');
    const target = join(dir, 'rsync-target');
    mkdirSync(join(source, 'nested'), { recursive: true });
    const files = { 'a.bin': randomBytes(512 * 1024), 'nested/b.txt': Buffer.from('hello rsync\n'), 'c.bin': randomBytes(70_000) };
    for (const [name, content] of Object.entries(files)) writeFileSync(join(source, name), content);
    // rsync splits -e on spaces and honours quotes: each ssh option quoted whole (the ProxyCommand has spaces).
    const shell = ['ssh', ...client.options].map((arg) => `'${arg}'`).join(' ');
    const first = await runChild(['rsync', '-a', '--stats', '-e', shell, `${source}/`, `bastion:${target}/`], env, children);
    expect(first.stderr).toBe('');
    expect(first.exitCode).toBe(0);
    for (const [name, content] of Object.entries(files)) expect(readFileSync(join(target, name)).equals(content)).toBe(true);
    // Another length: rsync's quick check compares size and modification time (same second here).
    const changed = Buffer.from('hello again, changed\n');
    writeFileSync(join(source, 'nested/b.txt'), changed);
    const second = await runChild(['rsync', '-a', '--stats', '-e', shell, `${source}/`, `bastion:${target}/`], env, children);
    expect(second.exitCode).toBe(0);
    expect(second.stdout).toMatch(/Number of regular files transferred: 1\b/);
    expect(readFileSync(join(target, 'nested/b.txt')).equals(changed)).toBe(true);
  }, 60_000);

  /** `ssh -N -L PORT:127.0.0.1:ECHO` with `options`, running until the test stops it. */
  function forward(options: string[]): { port: Promise<number>; stderr: () => string; stop: () => void } {
    let stderr = '';
    const port = freePort();
    const child = port.then((local) => {
      const spawned = spawn('ssh', [...options, '-N', '-o', 'ExitOnForwardFailure=yes', '-L', `${local}:127.0.0.1:${(echo.address() as AddressInfo).port}`, 'bastion'], {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.add(spawned);
      spawned.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      return spawned;
    });
    return { port, stderr: () => stderr, stop: () => void child.then((spawned) => spawned.kill('SIGTERM')) };
  }

  it('forwards a local port to a TCP server beside sshd (ssh -L)', async () => {
    const tunnel = forward(client.options);
    try {
      const port = await tunnel.port;
      expect(await pollUntil(() => exchange(port, 'through ssh -L'))).toBe('through ssh -L');
      expect(await exchange(port, 'and again')).toBe('and again');
    } finally {
      tunnel.stop();
    }
  }, 60_000);

  it('refuses port forwarding to a certificate without permit-port-forwarding', async () => {
    const tunnel = forward(client.optionsFor(plainKeyFile));
    try {
      const port = await tunnel.port;
      // The local listener is ssh's own; the channel it opens for the connection is refused by sshd.
      expect(await pollUntil(() => exchange(port, 'should not echo'))).toBe('');
      await pollUntil(async () => (/administratively prohibited/.test(tunnel.stderr()) ? true : undefined));
    } finally {
      tunnel.stop();
    }
  }, 60_000);

  describe.runIf(haveAgent)('agent forwarding (ssh -A)', () => {
    let agentSocket: string;
    let agentKeyFingerprint: string;

    beforeAll(async () => {
      agentSocket = join(dir, 'agent.sock');
      const agent = spawn('ssh-agent', ['-D', '-a', agentSocket], { env: { PATH: process.env.PATH ?? '' }, stdio: 'ignore' });
      children.add(agent);
      await pollUntil(async () => (existsSync(agentSocket) ? true : undefined));
      const key = await keygen(dir, 'id_in_agent');
      const added = await runChild(['ssh-add', key.privateKeyFile], { SSH_AUTH_SOCK: agentSocket }, children);
      expect(added.exitCode).toBe(0);
      const fingerprint = await runChild(['ssh-keygen', '-l', '-f', `${key.privateKeyFile}.pub`], {}, children);
      agentKeyFingerprint = fingerprint.stdout.split(' ')[1]!;
      expect(agentKeyFingerprint).toMatch(/^SHA256:/);
    }, 30_000);

    /**
     * `ssh -A` with the agent at `agentSocket`. `ForwardAgent=PATH` alone forwarded nothing with
     * `IdentityAgent=none` (OpenSSH 9.2); the agent becomes the IdentityAgent, and IdentitiesOnly
     * still keeps its key out of the login.
     */
    const withAgent = (options: string[]) => [...options.map((option) => (option === 'IdentityAgent=none' ? `IdentityAgent=${agentSocket}` : option)), '-A'];

    it('shows the local agent\'s key to ssh-add -l on the server', async () => {
      const listed = await ssh([...withAgent(client.options), 'bastion', 'ssh-add -l']);
      expect(listed.stderr).not.toContain('gatehouse:');
      expect(listed.exitCode).toBe(0);
      expect(listed.stdout).toContain(agentKeyFingerprint);
    }, 60_000);

    it('forwards no agent for a certificate without permit-agent-forwarding', async () => {
      const listed = await ssh([...withAgent(client.optionsFor(plainKeyFile)), 'bastion', 'ssh-add -l; echo "exit=$?"']);
      // The login itself works: only the agent is missing (ssh-add exits 2: no agent to talk to).
      expect(listed.stdout).toContain('exit=2');
      expect(listed.stdout).not.toContain(agentKeyFingerprint);
    }, 60_000);
  });
});
