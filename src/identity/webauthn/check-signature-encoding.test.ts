import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isCanonicalEcdsaDer } from './check-signature-encoding.js';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signatures = Array.from({ length: 300 }, (_, i) => sign('sha256', Buffer.from(`message ${i}`), privateKey));

describe('isCanonicalEcdsaDer', () => {
  it('accepts every DER signature OpenSSL produces (with and without 0x00 padding)', () => {
    for (const signature of signatures) expect(isCanonicalEcdsaDer(signature), signature.toString('hex')).toBe(true);
    expect(signatures.some((s) => s[3] === 0x21)).toBe(true); // the padded case was exercised
  });

  it('refuses a shortened or lengthened SEQUENCE length (the BER-tolerant case the library accepts)', () => {
    const signature = Buffer.from(signatures[0]!);
    for (const delta of [-1, 1]) {
      const copy = Buffer.from(signature);
      copy[1] = copy[1]! + delta;
      expect(isCanonicalEcdsaDer(copy)).toBe(false);
    }
  });

  it('refuses needless leading zeros, negative integers, long-form lengths and trailing bytes', () => {
    const r = Buffer.alloc(32, 0x11);
    const s = Buffer.alloc(32, 0x22);
    const der = (rr: Buffer, ss: Buffer, longForm = false) => {
      const body = Buffer.concat([Buffer.from([0x02, rr.length]), rr, Buffer.from([0x02, ss.length]), ss]);
      return Buffer.concat([Buffer.from(longForm ? [0x30, 0x81, body.length] : [0x30, body.length]), body]);
    };
    expect(isCanonicalEcdsaDer(der(r, s))).toBe(true);
    expect(isCanonicalEcdsaDer(der(Buffer.concat([Buffer.from([0]), r]), s))).toBe(false);
    expect(isCanonicalEcdsaDer(der(Buffer.alloc(32, 0x91), s))).toBe(false);
    expect(isCanonicalEcdsaDer(der(r, s, true))).toBe(false);
    expect(isCanonicalEcdsaDer(Buffer.concat([der(r, s), Buffer.from([0])]))).toBe(false);
    expect(isCanonicalEcdsaDer(der(Buffer.from([0]), s))).toBe(false); // r = 0 is never a valid ECDSA value
    expect(isCanonicalEcdsaDer(Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01]))).toBe(false);
  });
});
