import { sign, type KeyObject } from 'node:crypto';
import sshpk from 'sshpk';
import type { SshPublicKey } from './ssh-public-key.js';

/**
 * The one module that knows sshpk's certificate API (STYLE.md habit 8). sshpk encodes the certificate
 * (PROTOCOL.certkeys); the signature itself is made by Node's native Ed25519 (`crypto.sign`) through
 * sshpk's `signAsync` hook: sshpk's own Ed25519 signer is pure JavaScript and about a hundred times
 * slower, too slow for issuance at login rate.
 */

export interface CertificateAuthorityKey {
  /** The CA's public key, as sshpk reads it (written into the certificate as the signature key). */
  publicKey: SshPublicKey;
  /** The CA's Ed25519 private key. */
  privateKey: KeyObject;
}

export interface CertificateToSign {
  type: 'user' | 'host';
  subjectKey: SshPublicKey;
  /** Logins (user) or host names (host); never empty: an empty list means "any" to OpenSSH. */
  principals: readonly string[];
  keyId: string;
  /** 8 random bytes. */
  serial: Buffer;
  /** 32 random bytes (PROTOCOL.certkeys: the nonce defeats chosen-prefix hash collisions). */
  nonce: Buffer;
  /** Seconds since the epoch. */
  validAfter: number;
  validBefore: number;
  /** Critical options, name → value (e.g. force-command → "/usr/bin/backup"). */
  criticalOptions?: ReadonlyArray<readonly [string, string]>;
  /** Extension names (flags with empty data, e.g. permit-pty). */
  extensions?: readonly string[];
}

/** RFC 4251 §5 `string`: uint32 length then the bytes. */
function sshString(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

const opensshFormat = sshpk.Certificate.formats.openssh as unknown as sshpk.Format.OpenSshCert;

/** Signs and returns the certificate as one OpenSSH line (`ssh-ed25519-cert-v01@openssh.com AAAA…`). */
export function signSshCertificate(ca: CertificateAuthorityKey, request: CertificateToSign): sshpk.Certificate {
  if (request.principals.length === 0) throw new TypeError('a certificate without principals is valid for every principal');
  if (request.serial.length !== 8 || request.nonce.length !== 32) throw new TypeError('serial must be 8 bytes and nonce 32');
  if (!Number.isInteger(request.validAfter) || !Number.isInteger(request.validBefore) || request.validBefore <= request.validAfter) {
    throw new TypeError('validity must be whole seconds with validBefore after validAfter');
  }
  // PROTOCOL.certkeys: options and extensions "must be lexically ordered by name".
  const byName = <T extends { name: string }>(a: T, b: T) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const critical = (request.criticalOptions ?? []).map(([name, value]) => ({ critical: true, name, data: sshString(value) })).sort(byName);
  const extensions = (request.extensions ?? []).map((name) => ({ critical: false, name, data: Buffer.alloc(0) })).sort(byName);
  const identities = request.principals.map((principal) => (request.type === 'user' ? sshpk.identityForUser(principal) : sshpk.identityForHost(principal)));
  const openssh = { nonce: request.nonce, keyId: request.keyId, exts: [...critical, ...extensions] } as Partial<sshpk.Format.OpenSshSignature>;
  const certificate = new sshpk.Certificate({
    subjects: identities,
    issuer: sshpk.identityForUser('gatehouse-ca'),
    subjectKey: request.subjectKey,
    issuerKey: ca.publicKey,
    // @types/sshpk types this as two Signature objects; the runtime holds per-format state (below).
    signatures: {} as sshpk.CertificateOptions['signatures'],
    serial: request.serial,
    validFrom: new Date(request.validAfter * 1000),
    validUntil: new Date(request.validBefore * 1000),
  });
  certificate.signatures.openssh = openssh as sshpk.Format.OpenSshSignature;
  let failure: Error | undefined;
  let signed = false;
  opensshFormat.signAsync(
    certificate,
    // RFC 8709 §6: an Ed25519 signature over the certificate blob; the callback runs synchronously.
    (blob, done) => done(undefined, sshpk.parseSignature(sign(null, blob, ca.privateKey), 'ed25519', 'asn1')),
    (error) => {
      failure = error;
      signed = !error;
    },
  );
  if (failure) throw failure;
  if (!signed) throw new Error('sshpk did not sign the certificate synchronously');
  return certificate;
}
