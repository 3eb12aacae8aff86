import { generateKeyPairSync } from 'node:crypto';
import sshpk from 'sshpk';

/** A key made for one `gatehouse ssh` run: its certificate lasts minutes, and so does the key. */
export interface SessionKey {
  /** OpenSSH private key file content (`-----BEGIN OPENSSH PRIVATE KEY-----`), for `ssh -i` or `ssh-add`. */
  privateKeyOpenSsh: string;
  /** OpenSSH public key line, sent for certification. */
  publicKeyLine: string;
}

/** An Ed25519 key pair (RFC 8709) generated in memory by node:crypto, in the formats OpenSSH reads. */
export function generateSessionKey(comment = 'gatehouse-ssh'): SessionKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const key = sshpk.parsePrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'pem');
  key.comment = comment;
  return { privateKeyOpenSsh: key.toString('openssh'), publicKeyLine: key.toPublic().toString('ssh') };
}
