import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Random } from '../../lib/random.js';

/** An ed25519 key pair in the forms OpenSSH reads: `ssh -i` takes the private key, sshd the line. */
export interface OpenSshKeyPair {
  /** `-----BEGIN OPENSSH PRIVATE KEY-----` (openssh-key-v1, unencrypted). */
  privateKey: string;
  /** An authorized_keys line: `ssh-ed25519 <base64 blob> <comment>`. */
  publicKeyLine: string;
}

// RFC 8410 §7: a PKCS#8 ed25519 private key is this fixed DER prefix followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const OPENSSH_MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');

/** RFC 4251 §5 `string`: a uint32 length, then the bytes. */
function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

/** RFC 4251 §5 `mpint`: two's complement, big-endian, a leading zero byte when the high bit is set. */
function sshMpint(value: Buffer): Buffer {
  let start = 0;
  while (start < value.length - 1 && value[start] === 0) start += 1;
  const trimmed = value.subarray(start);
  return sshString((trimmed[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/**
 * Generates an ed25519 key pair from injected randomness. OpenSSH (9.2 here) does not load a PKCS#8
 * ed25519 PEM (`Load key: invalid format`), so the private key is written in OpenSSH's own
 * openssh-key-v1 format (PROTOCOL.key), unencrypted: it is handed straight to the secret sink.
 */
export function generateOpenSshEd25519Key(random: Random, comment: string): OpenSshKeyPair {
  const seed = random.bytes(32);
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const publicRaw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url');
  const publicBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(publicRaw)]);
  const check = random.bytes(4);
  let secret = Buffer.concat([
    check,
    check,
    sshString('ssh-ed25519'),
    sshString(publicRaw),
    sshString(Buffer.concat([seed, publicRaw])),
    sshString(comment),
  ]);
  // PROTOCOL.key: the private section is padded with 1, 2, 3, … to the cipher block size (8 for none).
  const padding = (8 - (secret.length % 8)) % 8;
  secret = Buffer.concat([secret, Buffer.from(Array.from({ length: padding }, (_, i) => i + 1))]);
  const body = Buffer.concat([
    OPENSSH_MAGIC,
    sshString('none'),
    sshString('none'),
    sshString(''),
    Buffer.from([0, 0, 0, 1]),
    sshString(publicBlob),
    sshString(secret),
  ]).toString('base64');
  const lines = body.match(/.{1,70}/g) ?? [];
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKeyLine: `ssh-ed25519 ${publicBlob.toString('base64')} ${comment}`,
  };
}

/**
 * The public key blob (base64, as in authorized_keys) of a private key `ssh -i` accepts: an
 * openssh-key-v1 key of any type (the public key sits unencrypted in its header), or a PEM RSA or
 * ed25519 key. Returns undefined for anything else.
 */
export function publicKeyBlobOf(privateKey: Buffer): { type: string; blob: string } | undefined {
  const text = privateKey.toString('utf8');
  const openssh = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (openssh) return fromOpenSshHeader(Buffer.from((openssh[1] ?? '').replace(/\s+/g, ''), 'base64'));
  let key: KeyObject;
  try {
    key = createPublicKey(createPrivateKey(privateKey));
  } catch {
    return undefined;
  }
  const jwk = key.export({ format: 'jwk' });
  if (key.asymmetricKeyType === 'ed25519' && typeof jwk.x === 'string') {
    const blob = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.from(jwk.x, 'base64url'))]);
    return { type: 'ssh-ed25519', blob: blob.toString('base64') };
  }
  if (key.asymmetricKeyType === 'rsa' && typeof jwk.e === 'string' && typeof jwk.n === 'string') {
    // RFC 4253 §6.6: "ssh-rsa", mpint e, mpint n.
    const blob = Buffer.concat([sshString('ssh-rsa'), sshMpint(Buffer.from(jwk.e, 'base64url')), sshMpint(Buffer.from(jwk.n, 'base64url'))]);
    return { type: 'ssh-rsa', blob: blob.toString('base64') };
  }
  return undefined;
}

function fromOpenSshHeader(body: Buffer): { type: string; blob: string } | undefined {
  if (body.length < OPENSSH_MAGIC.length || !body.subarray(0, OPENSSH_MAGIC.length).equals(OPENSSH_MAGIC)) return undefined;
  let offset = OPENSSH_MAGIC.length;
  const readString = (): Buffer | undefined => {
    if (offset + 4 > body.length) return undefined;
    const length = body.readUInt32BE(offset);
    if (offset + 4 + length > body.length) return undefined;
    const value = body.subarray(offset + 4, offset + 4 + length);
    offset += 4 + length;
    return value;
  };
  if (!readString() || !readString() || !readString()) return undefined; // cipher, kdf name, kdf options
  if (offset + 4 > body.length || body.readUInt32BE(offset) !== 1) return undefined;
  offset += 4;
  const blob = readString();
  if (!blob || blob.length < 4) return undefined;
  const typeLength = blob.readUInt32BE(0);
  if (4 + typeLength > blob.length) return undefined;
  return { type: blob.subarray(4, 4 + typeLength).toString('latin1'), blob: blob.toString('base64') };
}
