import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sshpk from 'sshpk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../../test/peers.js';
import { codeOf } from '../../test/support/error-code.js';
import { freshPostgresDatabase } from '../../test/support/gatehouse-fixture.js';
import { OTHER_KEY_ENCRYPTION_KEY, testSealer } from '../../test/support/test-kek.js';
import { createAuditLog, type AuditLog } from '../audit/index.js';
import { sshSchema } from '../config/index.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom } from '../lib/random.js';
import { createUnavailableSealer, listSealedValues } from '../secrets/index.js';
import { openStore, type Store } from '../store/index.js';
import { createSshCertificateAuthority, parseSubjectPublicKey, sshSettingsOf, type SshCertificateAuthority, type VerifiedSshIdentity } from './index.js';

/**
 * The CA against real databases: what it refuses (weak keys, users without a login, a session id where
 * a handle belongs), what it writes into a certificate, how its key is kept, and rotation with overlap.
 */

const HOUR = 3_600_000;
const settings = sshSettingsOf(
  sshSchema.parse({
    principals: [
      { group: 'ops', logins: ['deploy', 'root'] },
      { group: 'dev', logins: ['deploy'] },
    ],
    critical_options: { force_command: '/usr/bin/id', source_address: ['10.0.0.0/8', '192.0.2.7'] },
    extensions: { permit_pty: true, permit_port_forwarding: true },
  }),
);

const sshLineOf = (type: 'rsa' | 'dsa' | 'ed25519' | 'ec', options: Record<string, unknown>) => {
  const { publicKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
  return sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }) as string, 'pem').toString('ssh');
};
const ed25519 = () => sshLineOf('ed25519', {});
const ann: VerifiedSshIdentity = { userId: 'u-ann', email: 'ann@acme.test', groups: ['dev', 'ops'], sessionHandle: '0123456789abcdef', authMethod: 'webauthn', ip: '192.0.2.7' };

const pgAvailable = await havePostgres();
const engines = [
  { name: 'SQLite file', available: true, url: async (dir: string) => `sqlite:${join(dir, 'store.db')}` },
  { name: 'PostgreSQL', available: pgAvailable, url: () => freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_ssh_ca') },
];

for (const engine of engines) {
  describe.runIf(engine.available)(`SSH certificate authority (${engine.name})`, () => {
    let dir: string;
    let store: Store;
    let audit: AuditLog;
    let ca: SshCertificateAuthority;
    const clock = new ManualClock(Date.UTC(2026, 11, 7, 9, 0, 0));

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-ca-unit-'));
      store = await openStore({ url: await engine.url(dir) });
      audit = createAuditLog({ db: store.db, clock });
      ca = createSshCertificateAuthority({ db: store.db, sealer: testSealer(), clock, random: cryptoRandom, audit, settings });
      await ca.open('test');
    });
    afterAll(async () => {
      await store?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('issues a user certificate: mapped principals, key id naming user and session handle, options, short validity, audited', async () => {
      const issued = await ca.issueUserCertificate(ann, ed25519());
      expect(issued.principals).toEqual(['deploy', 'root']);
      expect(issued.keyId).toBe('gatehouse:ann@acme.test:0123456789abcdef');
      expect(issued.validAfter).toBe(clock.now() - 60_000);
      expect(issued.validBefore).toBe(clock.now() + 5 * 60_000);
      const certificate = sshpk.parseCertificate(issued.certificate, 'openssh');
      expect(certificate.isSignedByKey(sshpk.parseKey(ca.trustedCas()[0]!.publicKeyLine, 'ssh'))).toBe(true);
      expect(certificate.subjects.map((s) => s.uid)).toEqual(['deploy', 'root']);
      expect(certificate.serial.readBigUInt64BE().toString()).toBe(issued.serial);
      const exts = certificate.signatures.openssh!.exts.map((e) => [e.critical, e.name]);
      // PROTOCOL.certkeys: lexical order within each list.
      expect(exts).toEqual([
        [true, 'force-command'],
        [true, 'source-address'],
        [false, 'permit-port-forwarding'],
        [false, 'permit-pty'],
      ]);
      const [event] = await audit.list({ type: 'ssh.certificate_issued' });
      expect(event).toMatchObject({ outcome: 'success', userId: 'u-ann', actor: 'user:u-ann', ip: '192.0.2.7' });
      expect(event!.detail).toMatchObject({ user: 'ann@acme.test', principals: ['deploy', 'root'], serial: issued.serial, key_fingerprint: issued.keyFingerprint, valid_before: issued.validBefore, auth_method: 'webauthn' });
    });

    it('refuses a user no group maps to a login (ssh_no_principal), audited with the code', async () => {
      expect(await codeOf(ca.issueUserCertificate({ ...ann, groups: ['finance'] }, ed25519()))).toBe('ssh_no_principal');
      const [event] = await audit.list({ type: 'ssh.certificate_refused' });
      expect(event).toMatchObject({ outcome: 'failure', code: 'ssh_no_principal', userId: 'u-ann' });
    });

    it('refuses a session id where the non-secret handle belongs (ssh_bad_request): the key id is in every server log', async () => {
      const sessionId = cryptoRandom.bytes(32).toString('base64url');
      expect(await codeOf(ca.issueUserCertificate({ ...ann, sessionHandle: sessionId }, ed25519()))).toBe('ssh_bad_request');
      const events = await audit.list({ type: 'ssh.certificate_refused' });
      expect(JSON.stringify(events)).not.toContain(sessionId);
    });

    it('refuses weak and unsupported keys with their codes', async () => {
      expect(await codeOf(ca.issueUserCertificate(ann, sshLineOf('rsa', { modulusLength: 2048 })))).toBe('ssh_key_weak');
      expect(await codeOf(ca.issueUserCertificate(ann, sshLineOf('dsa', { modulusLength: 1024, divisorLength: 160 })))).toBe('ssh_key_weak');
      expect(await codeOf(ca.issueUserCertificate(ann, 'ssh-ed25519 AAAA-not-base64'))).toBe('ssh_key_invalid');
      expect(await codeOf(ca.issueUserCertificate(ann, `${ed25519()}\n${ed25519()}`))).toBe('ssh_key_invalid');
      expect(await codeOf(ca.issueUserCertificate(ann, 'sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29t'))).toBe('ssh_key_type_unsupported');
      const certificate = (await ca.issueUserCertificate(ann, ed25519())).certificate;
      expect(await codeOf(ca.issueUserCertificate(ann, certificate))).toBe('ssh_key_type_unsupported');
      const events = await audit.list({ type: 'ssh.certificate_refused' });
      expect(events.map((e) => e.code)).toEqual(expect.arrayContaining(['ssh_key_weak', 'ssh_key_invalid', 'ssh_key_type_unsupported']));
    });

    it('accepts RSA from 3072 bits and ECDSA P-256', () => {
      expect(parseSubjectPublicKey(sshLineOf('rsa', { modulusLength: 3072 })).size).toBe(3072);
      expect(parseSubjectPublicKey(sshLineOf('ec', { namedCurve: 'prime256v1' })).type).toBe('ecdsa');
    });

    it('keeps the CA private key sealed: not in the row, not openable with another KEK or none', async () => {
      const rows = await store.db.selectFrom('ssh_certificate_authorities').selectAll().execute();
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row.private_key).toMatch(/^gh-sealed\.v1\./);
        expect(row.private_key).not.toContain('PRIVATE KEY');
      }
      // A KEK rotation finds it (a value it did not list would be lost with the old key).
      expect((await listSealedValues(store.db)).filter((v) => v.location === 'ssh_certificate_authorities.private_key').map((v) => v.rowId).sort()).toEqual(rows.map((r) => r.id).sort());
      const wrongKek = createSshCertificateAuthority({ db: store.db, sealer: testSealer(OTHER_KEY_ENCRYPTION_KEY), clock, random: cryptoRandom, audit, settings });
      expect(await codeOf(wrongKek.open('test'))).toBe('sealed_value_unknown_key');
      const noKek = createSshCertificateAuthority({ db: store.db, sealer: createUnavailableSealer(), clock, random: cryptoRandom, audit, settings });
      expect(await codeOf(noKek.open('test'))).toBe('kek_not_configured');
    });

    it('issues host certificates for literal host names only', async () => {
      const issued = await ca.issueHostCertificate({ hostPublicKey: ed25519(), principals: ['db1.acme.test', '192.0.2.10'], actor: 'cli' });
      expect(issued).toMatchObject({ type: 'host', keyId: 'gatehouse-host:db1.acme.test', principals: ['db1.acme.test', '192.0.2.10'] });
      expect(issued.validBefore - clock.now()).toBe(90 * 24 * HOUR);
      expect(sshpk.parseCertificate(issued.certificate, 'openssh').subjects.map((s) => s.hostname)).toEqual(['db1.acme.test', '192.0.2.10']);
      expect(await codeOf(ca.issueHostCertificate({ hostPublicKey: ed25519(), principals: ['*.acme.test'], actor: 'cli' }))).toBe('ssh_bad_request');
      expect(await codeOf(ca.issueHostCertificate({ hostPublicKey: ed25519(), principals: [], actor: 'cli' }))).toBe('ssh_no_principal');
    });

    it('rotates with overlap: both CAs trusted during the window, the newest signs, only the new one after', async () => {
      const before = ca.trustedCas().map((c) => c.id);
      expect(before).toHaveLength(1);
      expect(await codeOf(ca.rotate({ overlapMs: 24 * 31 * HOUR, actor: 'cli' }))).toBe('usage');
      const rotation = await ca.rotate({ overlapMs: 24 * HOUR, actor: 'cli' });
      expect(rotation.superseded).toEqual(before);
      expect(ca.trustedCas().map((c) => c.id)).toEqual([rotation.id, before[0]]);
      expect(ca.trustedUserCaKeys().trim().split('\n')).toHaveLength(2);
      expect(ca.certAuthorityLines('*.acme.test').trim().split('\n').every((line) => line.startsWith('@cert-authority *.acme.test ssh-ed25519 '))).toBe(true);
      expect((await ca.issueUserCertificate(ann, ed25519())).caId).toBe(rotation.id);
      clock.advance(24 * HOUR);
      expect(ca.trustedCas().map((c) => c.id)).toEqual([rotation.id]);
      expect(ca.trustedUserCaKeys().trim().split('\n')).toHaveLength(1);
      const [event] = await audit.list({ type: 'ssh.ca_rotated' });
      expect(event!.detail).toMatchObject({ ca: rotation.id, superseded: before, overlap_ms: 24 * HOUR });
      expect(JSON.stringify(event)).not.toContain('PRIVATE');
    });

    it('refuses to issue before any CA exists (ssh_no_ca), without creating one', async () => {
      const emptyDir = mkdtempSync(join(tmpdir(), 'gatehouse-ssh-ca-empty-'));
      const empty = await openStore({ url: `sqlite:${join(emptyDir, 'store.db')}` });
      try {
        const fresh = createSshCertificateAuthority({ db: empty.db, sealer: testSealer(), clock, random: cryptoRandom, audit: createAuditLog({ db: empty.db, clock }), settings });
        expect(await codeOf(fresh.issueUserCertificate(ann, ed25519()))).toBe('ssh_no_ca');
        expect(await empty.db.selectFrom('ssh_certificate_authorities').selectAll().execute()).toEqual([]);
      } finally {
        await empty.close();
        rmSync(emptyDir, { recursive: true, force: true });
      }
    });

    it('refuses a host pattern that could inject a second known_hosts field', () => {
      let code = '';
      try {
        ca.certAuthorityLines('*.acme.test ssh-ed25519 AAAA');
      } catch (error) {
        code = (error as { code: string }).code;
      }
      expect(code).toBe('usage');
    });
  });
}
