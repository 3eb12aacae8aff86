import { describe, expect, it } from 'vitest';
import { extractIndicators, refang } from './extract-indicators.js';

describe('extractIndicators', () => {
  it('extracts a defanged URL and marks it defanged', () => {
    const found = extractIndicators('Your Okta session expired: hxxps://acme-okta[.]com/login?u=1 reply STOP');
    expect(found).toEqual([
      { value: 'https://acme-okta.com/login?u=1', domain: 'acme-okta.com', registrableDomain: 'acme-okta.com', defanged: true, shortened: false },
    ]);
  });

  it('extracts plain URLs and bare domains, notes shorteners, skips file names', () => {
    const found = extractIndicators('see https://bit.ly/3xYz, and login.acme-sso.net. Attached: invoice.pdf');
    expect(found.map((f) => [f.domain, f.registrableDomain, f.shortened])).toEqual([
      ['bit.ly', 'bit.ly', true],
      ['login.acme-sso.net', 'acme-sso.net', false],
    ]);
  });

  it('refangs the common notations', () => {
    expect(refang('evil(dot)com and evil[.]org and hxxp[:]//x[.]io').text).toBe('evil.com and evil.org and http://x.io');
  });

  it('caps the number of indicators of a hostile message', () => {
    const text = Array.from({ length: 500 }, (_, i) => `n${i}.example.com`).join(' ');
    expect(extractIndicators(text)).toHaveLength(50);
  });

  it('finds nothing in text without names', () => {
    expect(extractIndicators('Hi, is this message real? Thanks')).toEqual([]);
  });
});
