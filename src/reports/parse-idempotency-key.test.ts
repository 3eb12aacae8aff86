import { describe, expect, it } from 'vitest';
import { parseIdempotencyKey } from './parse-idempotency-key.js';

describe('parseIdempotencyKey', () => {
  const of = (...values: string[]) => parseIdempotencyKey(values.flatMap((v) => ['Idempotency-Key', v]));

  it('reads the draft\'s sf-string and the bare form alike', () => {
    expect(parseIdempotencyKey(['Host', 'x'])).toBeUndefined();
    expect(of('"8e03978e-40d5-43e8-bc93-6894a57f9324"')).toEqual({ key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    expect(of('8e03978e-40d5-43e8-bc93-6894a57f9324')).toEqual({ key: '8e03978e-40d5-43e8-bc93-6894a57f9324' });
    expect(of('"a \\"b\\" \\\\ c"')).toEqual({ key: 'a "b" \\ c' });
    expect(parseIdempotencyKey(['idempotency-KEY', 'k1'])).toEqual({ key: 'k1' });
  });

  it('refuses a key sent twice, empty, too long, or outside visible ASCII, saying which', () => {
    expect(of('a', 'b')).toEqual({ refused: 'Idempotency-Key sent 2 times' });
    expect(of('""')).toEqual({ refused: 'Idempotency-Key is empty' });
    expect(of('')).toMatchObject({ refused: expect.stringContaining('quoted string') as string });
    expect(of('k'.repeat(256))).toEqual({ refused: 'Idempotency-Key longer than 255 characters' });
    expect(of(`"${'k'.repeat(256)}"`)).toEqual({ refused: 'Idempotency-Key longer than 255 characters' });
    expect(of('k'.repeat(255))).toEqual({ key: 'k'.repeat(255) });
    for (const bad of ['a b', 'a,b', '"unterminated', 'ké', '"a"b"']) expect(of(bad)).toHaveProperty('refused');
  });
});
