import { describe, expect, it } from 'vitest';
import { presentedServiceTokenOf, serviceTokenBearerOf } from './service-token-credentials.js';

const clientId = `gh-svc-${'A'.repeat(22)}`;
const secret = `gh-secret-${'b'.repeat(43)}`;
const other = `gh-secret-${'c'.repeat(43)}`;
const headers = (id = clientId, s = secret) => ['Gatehouse-Client-Id', id, 'Gatehouse-Client-Secret', s];

describe('presentedServiceTokenOf', () => {
  it('reads the two headers, or a bearer `<client id>.<secret>` (scheme in any case)', () => {
    expect(presentedServiceTokenOf(['Host', 'x'])).toEqual({ kind: 'none' });
    expect(presentedServiceTokenOf(headers())).toEqual({ kind: 'presented', clientId, secret, form: 'headers' });
    expect(serviceTokenBearerOf({ clientId, secret })).toBe(`${clientId}.${secret}`);
    expect(presentedServiceTokenOf(['Authorization', `Bearer ${clientId}.${secret}`])).toEqual({ kind: 'presented', clientId, secret, form: 'bearer' });
    expect(presentedServiceTokenOf(['authorization', `bearer  ${clientId}.${secret}`])).toEqual({ kind: 'presented', clientId, secret, form: 'bearer' });
  });

  it('passes an unreadable Authorization on as a presentation for the verifier to refuse as malformed, never as "no token"', () => {
    for (const value of ['Basic dXNlcjpwYXNz', `Bearer ${clientId}`, 'Bearer', `Bearer ${clientId}.${secret} extra`, `Bearer ${'x'.repeat(600)}.${secret}`]) {
      expect(presentedServiceTokenOf(['Authorization', value])).toMatchObject({ kind: 'presented', form: 'bearer' });
    }
    expect(presentedServiceTokenOf(['Authorization', 'Basic dXNlcjpwYXNz'])).toEqual({ kind: 'presented', clientId: undefined, secret: undefined, form: 'bearer' });
  });

  it('accepts both forms naming the same token as one presentation', () => {
    expect(presentedServiceTokenOf([...headers(), 'Authorization', `Bearer ${clientId}.${secret}`])).toEqual({ kind: 'presented', clientId, secret, form: 'both' });
  });

  it('refuses both forms naming different tokens, or one of them unreadable, as ambiguous', () => {
    expect(presentedServiceTokenOf([...headers(), 'Authorization', `Bearer ${clientId}.${other}`])).toEqual({ kind: 'ambiguous', why: 'the Gatehouse headers and Authorization name different tokens' });
    expect(presentedServiceTokenOf([...headers(), 'Authorization', 'Basic dXNlcjpwYXNz'])).toMatchObject({ kind: 'ambiguous' });
    expect(presentedServiceTokenOf(['Gatehouse-Client-Id', clientId, 'Authorization', `Bearer ${clientId}.${secret}`])).toMatchObject({ kind: 'ambiguous' });
  });

  it('refuses two Authorization headers (Node would keep only the first), even when both are the same', () => {
    const bearer = `Bearer ${clientId}.${secret}`;
    expect(presentedServiceTokenOf(['Authorization', bearer, 'authorization', `Bearer ${clientId}.${other}`])).toEqual({ kind: 'ambiguous', why: '2 Authorization headers' });
    expect(presentedServiceTokenOf(['Authorization', bearer, 'Authorization', bearer])).toMatchObject({ kind: 'ambiguous' });
  });

  it('joins a repeated Gatehouse header as Node would, so the verifier refuses it as malformed', () => {
    expect(presentedServiceTokenOf([...headers(), 'Gatehouse-Client-Secret', other])).toMatchObject({ kind: 'presented', secret: `${secret}, ${other}` });
  });
});
