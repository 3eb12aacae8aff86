import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findExecutable, haveCommand } from '../../test/peers.js';
import { testSealer } from '../../test/support/test-kek.js';
import { createAuditLog } from '../audit/index.js';
import { sshSchema } from '../config/index.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { openStore, type Store } from '../store/index.js';
import { createSshCertificateAuthority, sshSettingsOf, type SshCertificateAuthority, type VerifiedSshIdentity } from './index.js';
import { keygen, run, sshCommand, startCaSshd, type CaSshd } from './test-support/ssh-peers.js';

/**
 * The CA against real OpenSSH: sshd trusts only the TrustedUserCAKeys file Gatehouse renders and
 * presents a host certificate Gatehouse signed; the client's known_hosts holds only the
 * `@cert-authority` line, with StrictHostKeyChecking yes. sshd checks validity against the real
 * time, so the injected clock starts at the real time and moves only to issue an expired certificate
 * or to end a rotation's overlap.
 */

const MINUTE = 60_000;
const havePeers = haveCommand('sshd', ['/usr/sbin/sshd']) && haveCommand('ssh') && haveCommand('ssh-keygen');
const sshdBinary = findExecutable('sshd', ['/usr/sbin/sshd'])!;
const user = userInfo().username;
const ann: VerifiedSshIdentity = { userId: 'u-ann', email: 'ann@acme.test', groups: ['ops'], sessionHandle: '0123456789abcdef', authMethod: 'webauthn' };

describe.runIf(havePeers)('SSH certificate authority with real OpenSSH', () => {
  let dir: string;
  let store: Store;
  let sshd: CaSshd;
  let knownHostsFile: string;
  const clock = new ManualClock(Date.now());
  const sealer = testSealer();
  const caWith = (ssh: Record<string, unknown> = {}): SshCertificateAuthority =>
    createSshCertificateAuthority({
      db: store.db,
      sealer,
      clock,
      random: cryptoRandom,
      audit: createAuditLog({ db: store.db, clock }),
      settings: sshSettingsOf(sshSchema.parse({ principals: [{ group: 'ops', logins: [user] }], ...ssh })),
    });
  let ca: SshCertificateAuthority;

  /** A fresh client key and a certificate for it from `authority`; returns the files ssh needs. */
  async function certifiedKey(name: string, authority = ca, identity = ann, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519', bits?: number) {
    const key = await keygen(dir, name, type, bits);
    const issued = await authority.issueUserCertificate(identity, key.publicKey);
    // Not `<key>-cert.pub`: ssh would load that beside the key on its own (PITFALLS.md).
    const certificateFile = join(dir, `${name}.certificate`);
    writeFileSync(certificateFile, `${issued.certificate}\n`);
    return { privateKeyFile: key.privateKeyFile, certificateFile, issued };
  }
  const login = (files: { privateKeyFile: string; certificateFile?: string }, command = 'echo gatehouse-ok', port = sshd.port) =>
    sshCommand({ port, user, knownHostsFile, command, ...files });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-ca-e2e-'));
    store = await openStore({ url: `sqlite:${join(dir, 'store.db')}` });
    ca = caWith();
    await ca.open('test');
    const started = await startCaSshd({
      sshdBinary,
      trustedUserCaKeys: ca.trustedUserCaKeys(),
      hostCertificate: async (hostPublicKey) => `${(await ca.issueHostCertificate({ hostPublicKey, principals: ['127.0.0.1'], actor: 'test' })).certificate}\n`,
    });
    if (typeof started === 'string') throw new Error(started);
    sshd = started;
    knownHostsFile = join(dir, 'known_hosts');
    writeFileSync(knownHostsFile, ca.certAuthorityLines(`[127.0.0.1]:${sshd.port}`));
  }, 60_000);
  afterAll(async () => {
    await sshd?.stop();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets a certificate for the local login run a command, on a host known only through its host certificate', async () => {
    const files = await certifiedKey('ann');
    const result = await login(files);
    expect(result.stderr).not.toContain('Host key verification failed');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe('gatehouse-ok');
    // The server's log names the user and session (key id) and the serial.
    expect(sshd.log()).toContain(`ID gatehouse:ann@acme.test:0123456789abcdef (serial ${files.issued.serial})`);
    const shown = await run(['ssh-keygen', '-L', '-f', files.certificateFile]);
    expect(shown.stdout).toContain('permit-pty');
    expect(shown.stdout).not.toContain('permit-agent-forwarding');
  });

  it('certifies ECDSA and RSA-3072 keys that log in too', async () => {
    expect((await login(await certifiedKey('ecdsa', ca, ann, 'ecdsa', 256))).exitCode).toBe(0);
    expect((await login(await certifiedKey('rsa', ca, ann, 'rsa', 3072))).exitCode).toBe(0);
  });

  it('refuses the same key without its certificate (no authorized_keys can let it in)', async () => {
    const files = await certifiedKey('bare');
    const result = await login({ privateKeyFile: files.privateKeyFile });
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toContain('Permission denied');
  });

  it('refuses an expired certificate', async () => {
    const now = clock.now();
    clock.set(now - 30 * MINUTE);
    const files = await certifiedKey('expired');
    clock.set(now);
    expect(files.issued.validBefore).toBeLessThan(Date.now());
    const result = await login(files);
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toContain('Permission denied');
    expect(sshd.log()).toMatch(/expired|not yet valid/i);
  });

  it('refuses a certificate whose principals do not include the login', async () => {
    const files = await certifiedKey('wrong-principal', caWith({ principals: [{ group: 'ops', logins: ['someone-else'] }] }));
    const result = await login(files);
    expect(result.exitCode).toBe(255);
    expect(result.stderr).toContain('Permission denied');
  });

  it('writes the configured critical options: force-command replaces the command, source-address limits where from', async () => {
    const forced = await certifiedKey('forced', caWith({ critical_options: { force_command: 'echo forced-by-certificate' } }));
    const result = await login(forced, 'echo asked-for');
    expect(result.exitCode).toBe(0);
    expect(result.stdout.trim()).toBe('forced-by-certificate');

    const local = await login(await certifiedKey('from-loopback', caWith({ critical_options: { source_address: ['127.0.0.0/8'] } })));
    expect(local.exitCode).toBe(0);
    const elsewhere = await login(await certifiedKey('from-elsewhere', caWith({ critical_options: { source_address: ['192.0.2.0/24'] } })));
    expect(elsewhere.exitCode).toBe(255);
    expect(elsewhere.stderr).toContain('Permission denied');
  });

  it('rotates with overlap: both CAs accepted during the window, the rotated-out one refused after it', async () => {
    const oldCertificate = await certifiedKey('before-rotation');
    const rotation = await ca.rotate({ overlapMs: 60 * MINUTE, actor: 'test' });
    writeFileSync(sshd.trustedUserCaKeysFile, ca.trustedUserCaKeys());
    const newCertificate = await certifiedKey('after-rotation');
    expect(newCertificate.issued.caId).toBe(rotation.id);
    expect(oldCertificate.issued.caId).toBe(rotation.superseded[0]);
    expect((await login(oldCertificate)).exitCode).toBe(0);
    expect((await login(newCertificate)).exitCode).toBe(0);

    clock.advance(61 * MINUTE);
    writeFileSync(sshd.trustedUserCaKeysFile, ca.trustedUserCaKeys());
    clock.advance(-61 * MINUTE);
    const refused = await login(oldCertificate);
    expect(refused.exitCode).toBe(255);
    expect(refused.stderr).toContain('Permission denied');
    expect((await login(newCertificate)).exitCode).toBe(0);
  });

  it('refuses a host that presents a bare host key: nobody accepts an unknown host key', async () => {
    const bare = await startCaSshd({ sshdBinary, trustedUserCaKeys: ca.trustedUserCaKeys() });
    if (typeof bare === 'string') throw new Error(bare);
    try {
      writeFileSync(knownHostsFile, ca.certAuthorityLines(`[127.0.0.1]:*`));
      const result = await login(await certifiedKey('to-unsigned-host'), 'echo must-not-run', bare.port);
      expect(result.exitCode).toBe(255);
      expect(result.stdout).not.toContain('must-not-run');
      expect(result.stderr).toContain('Host key verification failed');
    } finally {
      await bare.stop();
    }
  });
});
