import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GENESIS_HASH, hashAuditEvent } from '../../audit/index.js';
import { GENESIS_HASH_V1, hashAuditRowV1, type AuditRowV1 } from './002-audit-hash-v1.js';

// While the live hash is still version 1, the frozen copy must agree with it on every row, so the
// chains migration 002 backfills verify with the live code. When the live hash moves to a version 2,
// this test is where that is noticed: migration 002 keeps writing version 1.
describe('migration 002 hashes audit rows exactly as the live version 1 hash', () => {
  const row = fc.record({
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    at: fc.integer({ min: 0, max: 2 ** 45 }),
    type: fc.string(),
    outcome: fc.constantFrom('success', 'failure'),
    code: fc.option(fc.string(), { nil: null }),
    user_id: fc.option(fc.uuid(), { nil: null }),
    actor: fc.option(fc.string({ unit: 'binary' }), { nil: null }),
    ip: fc.option(fc.ipV6(), { nil: null }),
    detail: fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string()),
  });

  it('agrees on the genesis hash and on arbitrary rows, including details that are not JSON', () => {
    expect(GENESIS_HASH_V1).toBe(GENESIS_HASH);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')), row, (prev, r: AuditRowV1) => {
        expect(hashAuditRowV1(prev, r)).toBe(hashAuditEvent(prev, r));
      }),
      { numRuns: 300 },
    );
  });

  it('is the value the chain has always had for a fixed row', () => {
    const fixed: AuditRowV1 = { seq: 1, at: 1_700_000_000_000, type: 'user.added', outcome: 'success', code: null, user_id: null, actor: 'cli', ip: null, detail: '{"email":"a@acme.test","é":[1,2]}' };
    // Computed once with the audit capability's hash at the time migration 002 was frozen.
    expect(hashAuditRowV1(GENESIS_HASH_V1, fixed)).toBe('66c9cb72e693e38060688b31a6c4888e526eb6362b8c9beff1f1cd2cfb5f23ad');
  });
});
