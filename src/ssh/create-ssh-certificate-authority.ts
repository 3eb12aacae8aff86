import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { InputError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import type { SecretSealer } from '../secrets/index.js';
import type { Database } from '../store/index.js';
import { issueHostCertificate, issueUserCertificate, type IssueCertificateDeps, type VerifiedSshIdentity } from './issue-certificates.js';
import { createSshCaRing, type SshCa } from './ssh-ca-ring.js';
import { SshCaStore } from './ssh-ca-store.js';
import type { IssuedSshCertificate } from './ssh-certificate.js';
import type { SshSettings } from './ssh-settings.js';
import { certAuthorityLines, trustedUserCaKeys } from './trust-lines.js';

export interface SshCertificateAuthority {
  /** Reads the CAs; creates the first one if there is none. Call once before issuing. */
  open(actor: string): Promise<void>;
  /** A new CA signs from now on; the previous ones stay trusted for `overlapMs` (bounded by ssh.max_ca_overlap_hours). */
  rotate(options: { overlapMs: number; actor: string }): Promise<{ id: string; superseded: string[]; retiresAt: number }>;
  /** The CAs trusted now, newest first. */
  trustedCas(): SshCa[];
  /** Content of the sshd `TrustedUserCAKeys` file. */
  trustedUserCaKeys(): string;
  /** known_hosts `@cert-authority` lines for the host pattern. */
  certAuthorityLines(hostPattern: string): string;
  /** See `issueUserCertificate` for what the caller must have checked. */
  issueUserCertificate(identity: VerifiedSshIdentity, publicKey: string, actor?: string): Promise<IssuedSshCertificate>;
  issueHostCertificate(request: { hostPublicKey: string; principals: readonly string[]; actor: string }): Promise<IssuedSshCertificate>;
  /** Swaps in new settings (validity, mappings, options) from a config reload. */
  reload(settings: SshSettings): void;
}

/** Another instance may rotate: every issuance re-reads the CAs at least this often. */
const REFRESH_MS = 30_000;

export function createSshCertificateAuthority(options: { db: Kysely<Database>; sealer: SecretSealer; clock: Clock; random: Random; audit: AuditLog; settings: SshSettings }): SshCertificateAuthority {
  const { clock, random, audit } = options;
  let settings = options.settings;
  const ring = createSshCaRing({ store: new SshCaStore(options.db, options.sealer), clock, random, audit });
  const deps = (): IssueCertificateDeps => ({ ring, settings, clock, random, audit });
  return {
    open: (actor) => ring.ensureCa(actor),
    async rotate({ overlapMs, actor }) {
      if (!Number.isFinite(overlapMs) || overlapMs < 0 || overlapMs > settings.maxCaOverlapMs) {
        throw new InputError(`the overlap must be between 0 and ${settings.maxCaOverlapMs / 3_600_000} hours (ssh.max_ca_overlap_hours)`, 'usage');
      }
      return ring.rotate({ overlapMs, actor });
    },
    trustedCas: () => ring.trustedCas(),
    trustedUserCaKeys: () => trustedUserCaKeys(ring.trustedCas()),
    certAuthorityLines: (hostPattern) => certAuthorityLines(ring.trustedCas(), hostPattern),
    async issueUserCertificate(identity, publicKey, actor) {
      await ring.refreshIfStale(REFRESH_MS);
      return issueUserCertificate(deps(), identity, publicKey, actor);
    },
    async issueHostCertificate(request) {
      await ring.refreshIfStale(REFRESH_MS);
      return issueHostCertificate(deps(), request);
    },
    reload(next) {
      settings = next;
    },
  };
}
