/**
 * `gatehouse login` and `gatehouse ssh` end to end, against a real Gatehouse on a socket: the real CLI
 * code (in-process, and once as a separate process), a test playing the browser (a signed-in cookie jar
 * following the authorize URL, posting the consent), the CLI's own loopback listener receiving the
 * redirect, and a real sshd accepting the certificate. Then what a stolen or weak credential meets:
 * a revoked browser session, logout, a password+TOTP session, the ssh app's policy, no login.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCliCredential } from '../../src/cli/cli-credentials-file.js';
import { LegacyFactors } from '../../src/identity/index.js';
import { ManualClock } from '../../src/lib/clock.js';
import { cryptoRandom } from '../../src/lib/random.js';
import { hashSecret } from '../../src/lib/secret-hash.js';
import { createSshCertificateAuthority, sshSettingsOf, type SshCertificateAuthority } from '../../src/ssh/index.js';
import { startCaSshd, type CaSshd } from '../../src/ssh/test-support/ssh-peers.js';
import { findExecutable, haveCommand } from '../peers.js';
import { runGatehouse, runGatehouseProcess } from '../support/cli.js';
import { cliLoginSshYaml, cliLoginSteps, type CliLoginSteps } from '../support/cli-login-steps.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { builtCli } from '../support/paths.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

const haveSsh = haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh');
const login = userInfo().username;
const PASSWORD = 'correct horse battery staple 42';

describe('gatehouse login, gatehouse ssh and POST /cli/ssh/certificate', () => {
  let fx: GatehouseFixture;
  let s: CliLoginSteps;
  let dir: string;
  let env: Record<string, string>;
  let browser: TestBrowser;
  let ca: SshCertificateAuthority;
  let sshd: CaSshd | undefined;
  let knownHostsFile: string;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-login-'));
    env = { XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir, PATH: process.env.PATH ?? '' };
    fx = await startFixture({ clock, legacy: { password: true, totp: true }, extraYaml: cliLoginSshYaml(login) });
    s = cliLoginSteps(fx);
    browser = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, browser, 'ann@acme.localhost', ['ops']);
    const { core } = fx.gatehouse;
    // The same CA the server issues with (same database and key-encryption key): its trust lines for sshd.
    ca = createSshCertificateAuthority({ db: core.store.db, sealer: core.secrets, clock, random: cryptoRandom, audit: core.audit, settings: sshSettingsOf(core.snapshot().config.ssh) });
    await ca.open('test');
    if (haveSsh) {
      const started = await startCaSshd({
        sshdBinary: findExecutable('sshd', ['/usr/sbin/sshd'])!,
        trustedUserCaKeys: ca.trustedUserCaKeys(),
        hostCertificate: async (hostPublicKey) => `${(await ca.issueHostCertificate({ hostPublicKey, principals: ['127.0.0.1'], actor: 'test' })).certificate}\n`,
      });
      if (typeof started === 'string') throw new Error(started);
      sshd = started;
      knownHostsFile = join(dir, 'known_hosts');
      writeFileSync(knownHostsFile, ca.certAuthorityLines(`[127.0.0.1]:${sshd.port}`));
    }
  }, 120_000);

  afterAll(async () => {
    await sshd?.stop();
    await fx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const sshArgs = () => ['--', '-F', '/dev/null', '-p', String(sshd!.port), '-o', 'BatchMode=yes', '-o', 'IdentityAgent=none', '-o', `UserKnownHostsFile=${knownHostsFile}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes', 'echo gatehouse-ok'];

  it.runIf(haveSsh)('logs the CLI in through the browser, stores the credential 0600, and runs a command on sshd with a certificate', async () => {
    const result = await s.cliLogin(browser, env, dir);
    expect(result.stderr).not.toContain('gatehouse:');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Signed in as ann@acme\.localhost until \d{4}-/);
    const file = join(env.XDG_CONFIG_HOME!, 'gatehouse', 'credentials.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { credential: string };
    expect(stored.credential).toMatch(/^gh-cli-[A-Za-z0-9_-]{43}$/);
    // Only its hash is on the server.
    const rows = await fx.gatehouse.core.store.db.selectFrom('cli_credentials').selectAll().execute();
    expect(rows.map((r) => r.id_hash)).toContain(hashSecret(stored.credential));
    expect(JSON.stringify(rows)).not.toContain(stored.credential);

    const ssh = await runGatehouse(['ssh', '--app', 'servers', `${login}@127.0.0.1`, ...sshArgs()], { env, cwd: dir });
    expect(ssh.stderr).toContain(`certificate for ${login}`);
    expect(ssh.stdout).toContain('gatehouse-ok');
    expect(ssh.code).toBe(0);
    expect(sshd!.log()).toMatch(/ID gatehouse:ann@acme\.localhost:[0-9a-f]{16} \(serial \d+\)/);
    const issued = await s.lastAudit('ssh.certificate_issued');
    expect(issued).toMatchObject({ outcome: 'success' });
    // The software key registers without attestation: a phishing-resistant software key (RFC 8176 swk).
    expect(issued!.detail).toMatchObject({ user: 'ann@acme.localhost', principals: [login], auth_method: 'swk+mfa' });
  }, 60_000);

  it.runIf(haveSsh && haveCommand('ssh-agent'))('with --agent, adds the key and certificate to the agent (ssh-add -t, the certificate\'s lifetime) and logs in through it', async () => {
    const socket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 50));
      const agentEnv = { ...env, SSH_AUTH_SOCK: socket };
      const args = sshArgs().filter((a, i, all) => a !== 'IdentityAgent=none' && !(a === '-o' && all[i + 1] === 'IdentityAgent=none'));
      const ssh = await runGatehouse(['ssh', '--agent', '--app', 'servers', `${login}@127.0.0.1`, ...args], { env: agentEnv, cwd: dir });
      expect(ssh.stdout).toContain('gatehouse-ok');
      expect(ssh.code).toBe(0);
      const listed = await new Promise<string>((resolve) => {
        const child = spawn('ssh-add', ['-L'], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
        child.on('close', () => resolve(out));
      });
      expect(listed).toContain('ssh-ed25519-cert-v01@openssh.com');
    } finally {
      agent.kill('SIGTERM');
    }
  }, 60_000);

  it('works as a separate process: `gatehouse login` exits 0 with the credential written, `gatehouse ssh` without one exits 1', async () => {
    const processEnv = { ...env, XDG_CONFIG_HOME: join(dir, 'process') };
    const child = spawn(process.execPath, [builtCli(), 'login', '--portal', fx.portalOrigin, '--no-browser'], { cwd: dir, env: processEnv });
    let stderr = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const match = /(http:\/\/\S+\/cli\/authorize\?\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
      void exited.then(() => reject(new Error(`login exited early: ${stderr}`)));
    });
    expect((await fetch(await s.consent(browser, url))).status).toBe(200);
    expect(await exited).toBe(0);
    expect(stdout).toContain('Signed in as ann@acme.localhost');
    expect(statSync(join(processEnv.XDG_CONFIG_HOME, 'gatehouse', 'credentials.json')).mode & 0o777).toBe(0o600);

    const none = await runGatehouseProcess(['ssh', `${login}@127.0.0.1`], { env: { ...env, XDG_CONFIG_HOME: join(dir, 'process-none') }, cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('[cli_not_signed_in]');
  }, 60_000);

  it('refuses a certificate through the ssh app policy with its reason: address rules, unknown app, no principal', async () => {
    const credential = await s.credentialFor(browser);
    expect(await s.certificate(credential, 'office-only')).toMatchObject({ status: 403, body: { code: 'ssh_policy_denied', reason: 'no_policy_matched' } });
    const refused = await s.lastAudit('ssh.certificate_refused');
    expect(refused).toMatchObject({ code: 'ssh_policy_denied' });
    expect(JSON.stringify(refused!.detail.reasons)).toContain('10.0.0.0/8');
    expect(await s.certificate(credential, 'nowhere')).toMatchObject({ status: 403, body: { code: 'ssh_app_unknown' } });

    // A person in no mapped group: the open app lets them through, the CA finds no login.
    const bob = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, bob, 'bob@acme.localhost', ['sales']);
    const bobCredential = await s.credentialFor(bob);
    expect(await s.certificate(bobCredential, 'open')).toMatchObject({ status: 403, body: { code: 'ssh_no_principal', mapped_groups: ['ops'] } });

    // What the CLI says for each.
    const cliAs = async (who: string, stored: string, app: string) => {
      const whoEnv = { ...env, XDG_CONFIG_HOME: join(dir, who) };
      writeCliCredential(join(whoEnv.XDG_CONFIG_HOME, 'gatehouse', 'credentials.json'), { portal: fx.portalOrigin, credential: stored, email: `${who}@acme.localhost`, expiresAt: Date.now() + 3_600_000 });
      return runGatehouse(['ssh', '--app', app, `${login}@127.0.0.1`, '--', 'true'], { env: whoEnv, cwd: dir });
    };
    const noLogin = await cliAs('bob', bobCredential, 'open');
    expect(noLogin.code).toBe(1);
    expect(noLogin.stderr).toContain('None of your groups maps to a login on the servers: only members of ops get one (ssh.principals)');
    const denied = await cliAs('ann', credential, 'office-only');
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('The access policy of SSH app "office-only" refused a certificate (no_policy_matched)');
  });

  it('refuses a password+TOTP session a certificate for an app that requires hwk, with the policy\'s reason', async () => {
    const { identity } = fx.gatehouse.core;
    const user = await identity.users.add({ email: 'lee@acme.localhost', name: 'lee', groups: ['ops'] });
    await identity.legacy.setPassword(user.id, PASSWORD);
    const totp = await identity.legacy.enrollTotp(user.id);
    const lee = new TestBrowser(fx.port);
    const signInPage = await lee.fetch(`${fx.portalOrigin}/sign-in`);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(signInPage.body)![1]!;
    const signedIn = await lee.fetch(`${fx.portalOrigin}/sign-in/password`, {
      method: 'POST',
      headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, email: 'lee@acme.localhost', password: PASSWORD, code: await LegacyFactors.codeFor(totp, clock.now()) }).toString(),
    });
    expect(signedIn.status).toBe(303);
    const credential = await s.credentialFor(lee);
    expect(await s.certificate(credential, 'hardware')).toMatchObject({ status: 403, body: { code: 'ssh_policy_denied', reason: 'no_policy_matched' } });
    const refused = await s.lastAudit('ssh.certificate_refused');
    expect(refused).toMatchObject({ code: 'ssh_policy_denied', userId: user.id });
    expect(refused!.detail).toMatchObject({ app: 'hardware', amr: ['pwd', 'otp', 'mfa'] });
    expect(JSON.stringify(refused!.detail.reasons)).toContain('hwk');
  });

  it('refuses a stolen credential once its browser session is signed out (cli_credential_revoked), and the CLI says to log in', async () => {
    const carol = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, carol, 'carol@acme.localhost', ['ops']);
    const credential = await s.credentialFor(carol);
    expect((await s.certificate(credential, 'servers')).status).toBe(200);
    const page = await carol.fetch(`${fx.portalOrigin}/account`);
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page.body)![1]!;
    const out = await carol.fetch(`${fx.portalOrigin}/sign-out`, { method: 'POST', headers: { origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' }, body: `_csrf=${csrf}` });
    expect(out.status).toBe(303);
    expect(await s.certificate(credential, 'servers')).toMatchObject({ status: 401, body: { code: 'cli_credential_revoked' } });
    expect(await s.lastAudit('cli_login.credential_refused')).toMatchObject({ code: 'cli_credential_revoked' });

    const carolEnv = { ...env, XDG_CONFIG_HOME: join(dir, 'carol') };
    mkdtempSync(join(dir, 'carol-'));
    const file = join(carolEnv.XDG_CONFIG_HOME, 'gatehouse', 'credentials.json');
    writeCliCredential(file, { portal: fx.portalOrigin, credential, email: 'carol@acme.localhost', expiresAt: clock.now() + 3_600_000 });
    const ssh = await runGatehouse(['ssh', '--app', 'servers', `${login}@127.0.0.1`, '--', 'true'], { env: carolEnv, cwd: dir });
    expect(ssh.code).not.toBe(0);
    expect(ssh.stderr).toContain('Run `gatehouse login`');
    expect(ssh.stderr).toContain('[cli_credential_revoked]');
  });

  it('refuses an unknown or malformed credential (cli_credential_invalid) and says to log in when there is none', async () => {
    expect(await s.certificate(`gh-cli-${'A'.repeat(43)}`, 'servers')).toMatchObject({ status: 401, body: { code: 'cli_credential_invalid' } });
    expect(await s.certificate('not-a-credential', 'servers')).toMatchObject({ status: 401, body: { code: 'cli_credential_invalid' } });
    const ssh = await runGatehouse(['ssh', `${login}@127.0.0.1`], { env: { ...env, XDG_CONFIG_HOME: join(dir, 'nobody') }, cwd: dir });
    expect(ssh.stderr).toContain('run `gatehouse login`');
    expect(ssh.stderr).toContain('[cli_not_signed_in]');
  });

  it('stops a flood of certificate requests from one address (rate_limited) before any credential lookup', async () => {
    // The rest of the file starts a fresh window: whatever budget earlier tests used, this one is full.
    clock.advance(61_000);
    const guesses = await Promise.all(Array.from({ length: 125 }, () => s.certificate(`gh-cli-${'B'.repeat(43)}`, 'servers')));
    expect(guesses.filter((g) => g.status === 401).length).toBeLessThanOrEqual(120);
    expect(guesses.filter((g) => g.status === 429).map((g) => g.body.code)).toEqual(expect.arrayContaining(['rate_limited']));
    clock.advance(61_000);
    expect(await s.certificate(`gh-cli-${'B'.repeat(43)}`, 'servers')).toMatchObject({ status: 401, body: { code: 'cli_credential_invalid' } });
  });

  it('gatehouse logout revokes the credential on the portal and deletes the file', async () => {
    const dana = new TestBrowser(fx.port);
    await enrolThroughPortal(fx, dana, 'dana@acme.localhost', ['ops']);
    // $BROWSER is run with the address as one argument (no shell): this one writes it down.
    const opener = join(dir, 'browser.sh');
    const opened = join(dir, 'opened-url');
    writeFileSync(opener, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`, { mode: 0o700 });
    const danaEnv = { ...env, XDG_CONFIG_HOME: join(dir, 'dana'), BROWSER: opener };
    const result = await s.cliLogin(dana, danaEnv, dir, []);
    expect(result.code).toBe(0);
    // The CLI starts the browser detached and does not wait for it (a person's browser outlives the
    // login): on a loaded machine the opener may write after the login has finished.
    await expect.poll(() => existsSync(opened), { timeout: 15_000 }).toBe(true);
    await expect.poll(() => readFileSync(opened, 'utf8'), { timeout: 5_000 }).toMatch(/^http:\/\/sso\.acme\.localhost:\d+\/cli\/authorize\?response_type=code&client_id=gatehouse-cli&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\d+%2Fcallback&code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256&state=/);
    const file = join(danaEnv.XDG_CONFIG_HOME, 'gatehouse', 'credentials.json');
    const { credential } = JSON.parse(readFileSync(file, 'utf8')) as { credential: string };
    const out = await runGatehouse(['logout'], { env: danaEnv, cwd: dir });
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('Signed out dana@acme.localhost');
    expect(existsSync(file)).toBe(false);
    expect(await s.certificate(credential, 'servers')).toMatchObject({ status: 401, body: { code: 'cli_credential_revoked' } });
  });
});
