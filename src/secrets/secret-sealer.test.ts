/** The sealed-value envelope and the key file: every refusal has its code. */
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isGatehouseError } from '../lib/errors.js';
import { ManualClock } from '../lib/clock.js';
import { cryptoRandom, type Random } from '../lib/random.js';
import { parseConfig } from '../config/index.js';
import {
  createKeyEncryptionKeyFile,
  createSecretSealer,
  createUnavailableSealer,
  generateKeyEncryptionKey,
  openSecretSealer,
  parseKeyEncryptionKeys,
  readKeyEncryptionKeyFile,
  requireKeyEncryptionKey,
  sealedKeyIdOf,
  serializeKeyEncryptionKeys,
  writeKeyEncryptionKeyFile,
} from './index.js';

function codeOfSync(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (isGatehouseError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a failure');
}

const clock = new ManualClock();
const ringOf = (key: ReturnType<typeof generateKeyEncryptionKey>) => ({ primary: key.id, keys: [key] });

describe('secret sealer (AES-256-GCM envelope)', () => {
  const key = generateKeyEncryptionKey(cryptoRandom, clock.now());
  const sealer = createSecretSealer({ keys: ringOf(key), random: cryptoRandom, source: 'test' });

  it('round-trips, names its key, and never contains the plaintext', () => {
    const sealed = sealer.seal('JBSWY3DPEHPK3PXP', 'totp:u1');
    expect(sealed).toMatch(/^gh-sealed\.v1\.[0-9a-f]{16}\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/);
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(sealedKeyIdOf(sealed)).toBe(key.id);
    expect(sealer.unseal(sealed, 'totp:u1').toString('utf8')).toBe('JBSWY3DPEHPK3PXP');
    // Fresh nonce each time: the same secret seals differently.
    expect(sealer.seal('JBSWY3DPEHPK3PXP', 'totp:u1')).not.toBe(sealed);
  });

  it('takes its nonce from the injected Random', () => {
    const nonces: number[] = [];
    const counting: Random = { bytes: (n) => (nonces.push(n), Buffer.alloc(n, 7)), uuid: () => 'x' };
    const sealed = createSecretSealer({ keys: ringOf(key), random: counting, source: 'test' }).seal('s', 'c');
    expect(nonces).toEqual([12]);
    expect(sealed.split('.')[3]).toBe(Buffer.alloc(12, 7).toString('base64url'));
  });

  it('refuses a value moved to another row, a tampered value, a malformed one, plaintext, and a foreign key', () => {
    const sealed = sealer.seal('secret', 'totp:ann');
    expect(codeOfSync(() => sealer.unseal(sealed, 'totp:bob'))).toBe('sealed_value_auth_failed');
    const parts = sealed.split('.');
    const body = Buffer.from(parts[4]!, 'base64url');
    body[0]! ^= 1;
    expect(codeOfSync(() => sealer.unseal([...parts.slice(0, 4), body.toString('base64url')].join('.'), 'totp:ann'))).toBe('sealed_value_auth_failed');
    // The key id is in the additional data: relabelling a value with another id does not open it either.
    expect(codeOfSync(() => sealer.unseal(sealed.replace('.v1.', '.v1.x'), 'totp:ann'))).toBe('sealed_value_unknown_key');
    expect(codeOfSync(() => sealer.unseal('gh-sealed.v1.abc', 'totp:ann'))).toBe('sealed_value_invalid');
    expect(codeOfSync(() => sealer.unseal('JBSWY3DPEHPK3PXP', 'totp:ann'))).toBe('sealed_value_plaintext');
    const other = createSecretSealer({ keys: ringOf(generateKeyEncryptionKey(cryptoRandom, 0)), random: cryptoRandom, source: 'other' });
    expect(codeOfSync(() => other.unseal(sealed, 'totp:ann'))).toBe('sealed_value_unknown_key');
    // Same id, different key bytes (a hand-made ring): authentication fails.
    const forged = createSecretSealer({ keys: { primary: key.id, keys: [{ id: key.id, key: Buffer.alloc(32, 1) }] }, random: cryptoRandom, source: 'forged' });
    expect(codeOfSync(() => forged.unseal(sealed, 'totp:ann'))).toBe('sealed_value_auth_failed');
  });

  it('without a key, everything that needs one refuses with kek_not_configured', () => {
    const none = createUnavailableSealer();
    expect(none.available).toBe(false);
    expect(codeOfSync(() => none.seal('x', 'c'))).toBe('kek_not_configured');
    expect(codeOfSync(() => none.unseal('gh-sealed.v1.a.b.c', 'c'))).toBe('kek_not_configured');
    expect(codeOfSync(() => requireKeyEncryptionKey(none))).toBe('kek_not_configured');
    expect(() => requireKeyEncryptionKey(sealer)).not.toThrow();
  });
});

describe('key-encryption key text and file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-kek-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the JSON ring and a bare base64url key; names what is wrong otherwise', () => {
    const a = generateKeyEncryptionKey(cryptoRandom, 0);
    const b = generateKeyEncryptionKey(cryptoRandom, 0);
    const ring = parseKeyEncryptionKeys(serializeKeyEncryptionKeys({ primary: b.id, keys: [a, b] }), 'f');
    expect(ring.primary).toBe(b.id);
    expect(ring.keys.map((k) => k.id)).toEqual([a.id, b.id]);
    expect(parseKeyEncryptionKeys(a.key.toString('base64url'), 'env').primary).toBe(a.id);
    expect(parseKeyEncryptionKeys(a.key.toString('base64'), 'env').primary).toBe(a.id);
    const bad = (text: string) => {
      try {
        parseKeyEncryptionKeys(text, 'kek.json');
      } catch (error) {
        return isGatehouseError(error) ? `${error.code}: ${error.publicMessage}` : 'other';
      }
      return 'ok';
    };
    expect(bad('short')).toMatch(/^kek_invalid: .*kek\.json.*bytes/);
    expect(bad('{')).toMatch(/^kek_invalid: .*not JSON/);
    expect(bad(JSON.stringify({ format: 'gatehouse-kek', version: 1, primary: 'x', keys: [] }))).toMatch(/at least one key/);
    const edited = JSON.parse(serializeKeyEncryptionKeys({ primary: a.id, keys: [a] })) as { keys: { id: string }[] };
    edited.keys[0]!.id = '0000000000000000';
    expect(bad(JSON.stringify(edited))).toMatch(/keys\[0\]\.id does not match its key/);
    expect(bad(serializeKeyEncryptionKeys({ primary: 'nope', keys: [a] }))).toMatch(/"primary" must be/);
    // No message carries the key itself.
    expect(bad(`${a.key.toString('base64url')}AA`)).not.toContain(a.key.toString('base64url'));
  });

  it('writes the file 0600, never replaces one with init, and refuses a file others can read', () => {
    const path = join(dir, 'kek.json');
    const { keyId } = createKeyEncryptionKeyFile(path, { random: cryptoRandom, clock });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readKeyEncryptionKeyFile(path).primary).toBe(keyId);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ format: 'gatehouse-kek', version: 1, primary: keyId });
    expect(codeOfSync(() => createKeyEncryptionKeyFile(path, { random: cryptoRandom, clock }))).toBe('kek_file_exists');

    chmodSync(path, 0o644);
    let message = '';
    try {
      readKeyEncryptionKeyFile(path);
    } catch (error) {
      message = isGatehouseError(error) ? `${error.code}: ${error.publicMessage}` : String(error);
    }
    expect(message).toContain('kek_file_permissions');
    expect(message).toContain(`chmod 600 ${path}`);
    chmodSync(path, 0o640);
    expect(codeOfSync(() => openSecretSealer({ key_encryption_key_file: 'kek.json' }, dir, cryptoRandom))).toBe('kek_file_permissions');
    chmodSync(path, 0o600);
    expect(openSecretSealer({ key_encryption_key_file: 'kek.json' }, dir, cryptoRandom).primaryKeyId()).toBe(keyId);

    expect(codeOfSync(() => readKeyEncryptionKeyFile(join(dir, 'missing.json')))).toBe('kek_file_missing');
    expect(codeOfSync(() => openSecretSealer({ key_encryption_key_file: 'missing.json' }, dir, cryptoRandom))).toBe('kek_file_missing');
    writeFileSync(join(dir, 'junk.json'), 'not a key', { mode: 0o600 });
    expect(codeOfSync(() => readKeyEncryptionKeyFile(join(dir, 'junk.json')))).toBe('kek_invalid');
  });

  it('a running sealer follows the file when it is rotated (atomic replace), and replacing keeps mode 0600', () => {
    const path = join(dir, 'kek.json');
    const first = generateKeyEncryptionKey(cryptoRandom, 0);
    writeKeyEncryptionKeyFile(path, ringOf(first));
    const running = openSecretSealer({ key_encryption_key_file: path }, dir, cryptoRandom);
    const old = running.seal('x', 'c');
    const second = generateKeyEncryptionKey(cryptoRandom, 0);
    writeKeyEncryptionKeyFile(path, { primary: second.id, keys: [first, second] });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(sealedKeyIdOf(running.seal('y', 'c'))).toBe(second.id);
    expect(running.unseal(old, 'c').toString()).toBe('x');
  });

  it('the config takes a key file or an inline key, not both', () => {
    const base = 'server:\n  portal_host: sso.a.test\n  http: { port: 0 }\nwebauthn: { rp_id: a.test, origins: ["https://sso.a.test"] }\n';
    const both = base.replace('  http:', '  key_encryption_key_file: k.json\n  key_encryption_key: abc\n  http:');
    expect(() => parseConfig(both, 'x.yaml')).toThrow(/server\.key_encryption_key: set one of key_encryption_key_file and key_encryption_key/);
    const fromEnv = parseConfig(base.replace('  http:', '  key_encryption_key: ${env:GH_KEK}\n  http:'), 'x.yaml', { GH_KEK: 'k'.repeat(43) });
    expect(fromEnv.server.key_encryption_key).toBe('k'.repeat(43));
  });
});
