import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { canonicalAuditEvent, GENESIS_HASH, hashAuditEvent } from './event-hash.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('is independent of insertion order', () => {
    const one = { type: 'x', detail: { app: 'wiki', reasons: ['a'] }, at: 5 };
    const two = { at: 5, detail: { reasons: ['a'], app: 'wiki' }, type: 'x' };
    expect(canonicalJson(one)).toBe(canonicalJson(two));
  });

  it('orders keys by UTF-16 code units (RFC 8785 §3.2.3)', () => {
    // U+20AC (€) sorts after U+00E9 (é); an astral character's high surrogate (U+D83D) sorts before U+FB33.
    expect(canonicalJson({ '€': 1, é: 2, '\u{1F600}': 3, '\uFB33': 4, a: 5 })).toBe('{"a":5,"\u00e9":2,"\u20ac":1,"\u{1F600}":3,"\uFB33":4}');
  });

  it('reduces values to the JSON data model, as stored text reads back', () => {
    const value = { a: undefined, b: new Date(0), c: Number.NaN, d: [undefined] };
    expect(canonicalJson(value)).toBe('{"b":"1970-01-01T00:00:00.000Z","c":null,"d":[null]}');
    expect(canonicalJson(JSON.parse(canonicalJson(value)))).toBe(canonicalJson(value));
  });
});

describe('event hash', () => {
  const row = { seq: 7, at: 1_700_000_000_000, type: 'sign_in', outcome: 'failure', code: 'bad', user_id: 'u1', actor: null, ip: '192.0.2.1', detail: '{"b":1,"a":2}' };

  it('covers seq, time and every field, detail by meaning', () => {
    expect(canonicalAuditEvent(row)).toBe(
      '{"actor":null,"at":1700000000000,"code":"bad","detail":{"a":2,"b":1},"ip":"192.0.2.1","outcome":"failure","seq":7,"type":"sign_in","user_id":"u1"}',
    );
    const base = hashAuditEvent(GENESIS_HASH, row);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(hashAuditEvent(GENESIS_HASH, { ...row, detail: '{"a":2, "b":1}' })).toBe(base);
    for (const changed of [{ seq: 8 }, { at: row.at + 1 }, { ip: '192.0.2.2' }, { actor: 'cli' }, { detail: '{"a":2,"b":2}' }, { user_id: null }]) {
      expect(hashAuditEvent(GENESIS_HASH, { ...row, ...changed })).not.toBe(base);
    }
    expect(hashAuditEvent('1'.repeat(64), row)).not.toBe(base);
  });

  it('hashes a hand-edited, unparseable detail without throwing, unlike any real detail', () => {
    expect(hashAuditEvent(GENESIS_HASH, { ...row, detail: '{"a":' })).not.toBe(hashAuditEvent(GENESIS_HASH, row));
  });
});
