import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import sshpk from 'sshpk';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { SshCaRecord, SshCaStore } from './ssh-ca-store.js';
import type { CertificateAuthorityKey } from './sign-ssh-certificate.js';

/** A CA generation opened in memory. */
export interface SshCa extends CertificateAuthorityKey {
  id: string;
  /** OpenSSH public key line (`ssh-ed25519 AAAA… gatehouse-ca-<id>`). */
  publicKeyLine: string;
  createdAt: number;
  retiresAt: number | undefined;
}

export interface SshCaRing {
  /** Re-reads the store (another instance may have rotated); on failure the current CAs stay. */
  refresh(): Promise<void>;
  /** Refreshes when the last read is older than `maxAgeMs`. */
  refreshIfStale(maxAgeMs: number): Promise<void>;
  /** Creates the first CA when there is none. */
  ensureCa(actor: string): Promise<void>;
  /** A new CA that signs from now on; the CAs trusted until now stay trusted for `overlapMs`. */
  rotate(options: { overlapMs: number; actor: string }): Promise<{ id: string; superseded: string[]; retiresAt: number }>;
  /** The newest CA, which signs every certificate. Throws `ssh_no_ca` if there is none. */
  signingCa(): SshCa;
  /** Every CA trusted now, newest first: the newest and those still in their overlap. */
  trustedCas(): SshCa[];
}

function openRecord(record: SshCaRecord): SshCa {
  const privateKey: KeyObject = createPrivateKey(record.privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new TypeError(`SSH CA ${record.id}: not an Ed25519 key`);
  const publicKey = sshpk.parseKey(record.publicKey, 'ssh');
  return Object.freeze({ id: record.id, publicKey, privateKey, publicKeyLine: record.publicKey, createdAt: record.createdAt, retiresAt: record.retiresAt });
}

export function createSshCaRing(options: { store: SshCaStore; clock: Clock; random: Random; audit: AuditLog }): SshCaRing {
  const { store, clock, random, audit } = options;
  let cas: SshCa[] = [];
  let readAt = Number.NEGATIVE_INFINITY;

  async function create(actor: string, overlapMs: number) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const id = random.bytes(8).toString('hex');
    const now = clock.now();
    const sshKey = sshpk.parseKey(publicKey.export({ type: 'spki', format: 'pem' }), 'pem');
    sshKey.comment = `gatehouse-ca-${id}`;
    const publicKeyLine = sshKey.toString('ssh');
    const record: SshCaRecord = { id, publicKey: publicKeyLine, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), createdAt: now, createdBy: actor, retiresAt: undefined };
    const retiresAt = now + overlapMs;
    const superseded = await store.add(record, { now, retireOthersAt: retiresAt, audit, overlapMs });
    await ring.refresh();
    return { id, superseded, retiresAt };
  }

  const ring: SshCaRing = {
    async refresh() {
      const opened = (await store.load()).map(openRecord);
      // The signing CA first: the one no rotation has superseded (created in the same millisecond as
      // the one it replaced, it is still the newest), then by age; the id is a tie-break every
      // instance agrees on (two instances rotating at once).
      const superseded = (ca: SshCa) => (ca.retiresAt === undefined ? 0 : 1);
      cas = opened.sort((a, b) => superseded(a) - superseded(b) || b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
      readAt = clock.now();
    },
    async refreshIfStale(maxAgeMs) {
      if (clock.now() - readAt >= maxAgeMs) await ring.refresh();
    },
    async ensureCa(actor) {
      await ring.refresh();
      if (cas.length === 0) await create(actor, 0);
    },
    async rotate({ overlapMs, actor }) {
      if (!Number.isFinite(overlapMs) || overlapMs < 0) throw new TypeError('overlapMs must be a non-negative number');
      await ring.refresh();
      return create(actor, overlapMs);
    },
    signingCa() {
      const newest = cas[0];
      if (!newest) {
        throw new GatehouseError('ssh_no_ca', { status: 503, publicMessage: 'The service is not ready.', detail: 'no SSH CA exists yet (gatehouse ssh ca creates one)' });
      }
      return newest;
    },
    trustedCas() {
      const now = clock.now();
      return cas.filter((ca, index) => index === 0 || (ca.retiresAt !== undefined && ca.retiresAt > now));
    },
  };
  return ring;
}
