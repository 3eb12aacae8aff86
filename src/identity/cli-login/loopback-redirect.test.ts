import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { loopbackRedirectProblem } from './loopback-redirect.js';
import { isS256Challenge, s256ChallengeOf, verifierMatches } from './pkce.js';

describe('loopback redirect URIs (RFC 8252 §7.3, §8.3)', () => {
  it.each(['http://127.0.0.1:53682/callback', 'http://[::1]:1024/', 'http://127.0.0.1:65535'])('accepts %s', (uri) => {
    expect(loopbackRedirectProblem(uri)).toBeNull();
  });

  it.each([
    'http://localhost:53682/callback',
    'http://LOCALHOST:53682/callback',
    'http://127.0.0.1.evil.example:53682/',
    'http://2130706433:53682/',
    'http://0x7f.0.0.1:53682/',
    'http://127.0.0.2:53682/',
    'http://[::ffff:127.0.0.1]:53682/',
    'https://127.0.0.1:53682/',
    'http://127.0.0.1:80/',
    'http://127.0.0.1:53682/cb?next=evil',
    'http://127.0.0.1:53682/cb#frag',
    'http://127.0.0.1:53682/\tcb',
    'http:\\\\127.0.0.1:53682/',
    '',
    42,
  ])('refuses %s', (uri) => {
    expect(loopbackRedirectProblem(uri)).toEqual(expect.any(String));
  });
});

describe('PKCE S256 (RFC 7636 §4.2, §4.6)', () => {
  it('matches the RFC 7636 appendix B example', () => {
    expect(s256ChallengeOf('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('refuses a wrong, short or plain verifier', () => {
    const verifier = 'a'.repeat(43);
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    expect(verifierMatches(verifier, challenge)).toBe(true);
    expect(verifierMatches('b'.repeat(43), challenge)).toBe(false);
    expect(verifierMatches('a'.repeat(42), s256ChallengeOf('a'.repeat(42)))).toBe(false);
    // `plain`: the challenge is the verifier itself; it never matches as S256.
    expect(verifierMatches(verifier, verifier)).toBe(false);
    expect(isS256Challenge(verifier.slice(0, 42))).toBe(false);
  });
});
