import sshpk from 'sshpk';
import { GatehouseError } from '../lib/errors.js';

/**
 * The public keys Gatehouse certifies, and the ones it refuses. A certificate lends its key the
 * authority of the CA, so a key an attacker could factor or forge must never get one:
 * - Ed25519 and ECDSA on NIST P-256/384/521 are accepted (RFC 8709, RFC 5656).
 * - RSA needs at least 3072 bits (NIST SP 800-57 Part 1 Rev. 5, Table 2: 128-bit security beyond 2030).
 * - DSA is refused (1024-bit only in SSH, RFC 4253 §6.6; removed from OpenSSH 9.8).
 * Anything else, a certificate offered as a key included, is refused as unsupported.
 */
export const MIN_RSA_BITS = 3072;
const MAX_KEY_TEXT = 16_384;
const ECDSA_CURVES = new Set(['nistp256', 'nistp384', 'nistp521']);

export type SshPublicKey = sshpk.Key;

function refuse(code: 'ssh_key_invalid' | 'ssh_key_weak' | 'ssh_key_type_unsupported', detail: string): GatehouseError {
  return new GatehouseError(code, { status: 400, publicMessage: 'The SSH public key cannot be certified.', detail });
}

/** Parses one OpenSSH public key line (`ssh-ed25519 AAAA… comment`) and applies the policy above. */
export function parseSubjectPublicKey(text: string): SshPublicKey {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_KEY_TEXT) throw refuse('ssh_key_invalid', 'expected one OpenSSH public key line');
  const line = text.trim();
  if (line.includes('\n')) throw refuse('ssh_key_invalid', 'expected one OpenSSH public key line, got several');
  const algorithm = line.split(/\s+/, 1)[0] ?? '';
  if (algorithm.includes('-cert-v01@openssh.com')) throw refuse('ssh_key_type_unsupported', `${algorithm}: a certificate, not a public key`);
  if (algorithm === 'ssh-dss') throw refuse('ssh_key_weak', 'DSA keys are refused (1024-bit)');
  let key: sshpk.Key;
  try {
    key = sshpk.parseKey(line, 'ssh');
  } catch (cause) {
    const known = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521))$/.test(algorithm);
    throw known ? refuse('ssh_key_invalid', `not a valid ${algorithm} key (${(cause as Error).message})`) : refuse('ssh_key_type_unsupported', `key type ${JSON.stringify(algorithm.slice(0, 64))} is not supported`);
  }
  switch (key.type) {
    case 'ed25519':
      return key;
    case 'ecdsa':
      if (!ECDSA_CURVES.has(key.curve ?? '')) throw refuse('ssh_key_type_unsupported', `ECDSA curve ${String(key.curve)} is not supported`);
      return key;
    case 'rsa':
      if (key.size < MIN_RSA_BITS) throw refuse('ssh_key_weak', `RSA key of ${key.size} bits; at least ${MIN_RSA_BITS} are required`);
      return key;
    case 'dsa':
      throw refuse('ssh_key_weak', 'DSA keys are refused (1024-bit)');
    default:
      throw refuse('ssh_key_type_unsupported', `key type ${key.type} is not supported`);
  }
}

/** `SHA256:…`, the fingerprint `ssh-keygen -l` and sshd's log print. */
export function sshFingerprint(key: SshPublicKey): string {
  return key.fingerprint('sha256').toString();
}
