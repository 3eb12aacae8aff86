import { describe, expect, it } from 'vitest';
import { serviceTokenStatesOf } from './service-token-feed.js';
import { SERVICE_TOKEN_FEED } from './service-token-repository.js';

const state = (name: string) => ({
  id: `id-${name}`,
  clientId: `client-${name}`,
  name,
  owner: 'build@acme.test',
  tags: ['ci'],
  apps: ['deploy'],
  status: 'revoked',
  believedUnused: false,
  version: 2,
  expiresAt: 1,
  secretHash: 'ab'.repeat(32),
});
const change = (kind: string, payload: Record<string, unknown>) => ({ id: 1, at: 0, kind, payload });

describe('serviceTokenStatesOf', () => {
  it('reads one state from a single change and every state from a bulk change', () => {
    expect(serviceTokenStatesOf(change(SERVICE_TOKEN_FEED.changed, state('one'))).states.map((s) => s.name)).toEqual(['one']);
    const bulk = serviceTokenStatesOf(change(SERVICE_TOKEN_FEED.changedMany, { states: [state('a'), state('b')] }));
    expect(bulk).toMatchObject({ malformed: 0, states: [{ name: 'a', status: 'revoked' }, { name: 'b', status: 'revoked' }] });
    expect(serviceTokenStatesOf(change('session.revoked', { idHashes: [] }))).toEqual({ states: [], malformed: 0 });
  });

  it('keeps every readable state of a bulk row with a malformed entry (a revocation is not lost for one bad entry)', () => {
    const read = serviceTokenStatesOf(change(SERVICE_TOKEN_FEED.changedMany, { states: [state('a'), { ...state('b'), status: 'gone' }, null, state('c')] }));
    expect(read.states.map((s) => s.name)).toEqual(['a', 'c']);
    expect(read.malformed).toBe(2);
    expect(serviceTokenStatesOf(change(SERVICE_TOKEN_FEED.changedMany, { states: 'nope' }))).toEqual({ states: [], malformed: 1 });
    expect(serviceTokenStatesOf(change(SERVICE_TOKEN_FEED.changed, { name: 'x' }))).toEqual({ states: [], malformed: 1 });
  });
});
