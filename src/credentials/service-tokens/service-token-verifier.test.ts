import { timingSafeEqual } from 'node:crypto';
import { expect, it } from 'vitest';
import { cryptoRandom } from '../../lib/random.js';
import { hashSecret } from '../../lib/secret-hash.js';
import { createServiceTokenVerifier, type VerifierPrimitives } from './service-token-verifier.js';
import type { ServiceTokenState } from './service-token-state.js';

/**
 * Timing without timing asserts: the cost of a verification is one digest and two constant-time
 * comparisons of 32-byte buffers, and that is what is counted, for a known id and an unknown one.
 */
const secret = `gh-secret-${'s'.repeat(43)}`;
const state: ServiceTokenState = {
  id: 't1',
  clientId: `gh-svc-${'k'.repeat(22)}`,
  name: 'ci',
  owner: 'o@acme.test',
  tags: [],
  apps: ['payroll'],
  status: 'active',
  believedUnused: false,
  version: 1,
  expiresAt: Number.MAX_SAFE_INTEGER,
  secretHash: hashSecret(secret),
  previousSecretHash: undefined,
  previousValidUntil: undefined,
};

function counted() {
  const calls = { digest: 0, equal: [] as number[][] };
  const primitives: VerifierPrimitives = {
    digest: (text) => {
      calls.digest++;
      return Buffer.from(hashSecret(text), 'hex');
    },
    equal: (a, b) => {
      calls.equal.push([a.length, b.length]);
      return timingSafeEqual(a, b);
    },
  };
  return { calls, verifier: createServiceTokenVerifier(cryptoRandom, primitives) };
}

it('does the same work for an unknown client id as for a known one with a wrong secret', () => {
  const known = counted();
  known.verifier.replaceAll([state]);
  expect(known.verifier.verify({ clientId: state.clientId, secret: `gh-secret-${'x'.repeat(43)}`, app: 'payroll', now: 0 })).toMatchObject({ ok: false, code: 'service_token_bad_secret' });
  const unknown = counted();
  unknown.verifier.replaceAll([state]);
  expect(unknown.verifier.verify({ clientId: `gh-svc-${'u'.repeat(22)}`, secret, app: 'payroll', now: 0 })).toEqual({ ok: false, code: 'service_token_unknown' });
  expect(known.calls).toEqual({ digest: 1, equal: [[32, 32], [32, 32]] });
  expect(unknown.calls).toEqual(known.calls);
});

it('refuses malformed input without hashing it', () => {
  const { calls, verifier } = counted();
  verifier.replaceAll([state]);
  expect(verifier.verify({ clientId: state.clientId, secret: 'x'.repeat(64 * 1024), app: 'payroll', now: 0 })).toEqual({ ok: false, code: 'service_token_malformed' });
  expect(calls).toEqual({ digest: 0, equal: [] });
  expect(verifier.verify({ clientId: state.clientId, secret, app: 'payroll', now: 0 }).ok).toBe(true);
});
