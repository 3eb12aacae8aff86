import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDomainFeed } from './nrd-feed.js';
import { parseRdapBootstrap } from './rdap-bootstrap.js';
import { parseRdapDomainResponse } from './rdap-domain-response.js';
import { registrableDomainOf } from './registrable-domain.js';

const LDH_NAME = /^(?:(?!-)[a-z0-9-]{1,63}(?<!-)\.)+(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const hostish = fc.stringMatching(/^[A-Za-z0-9._\-/?#%@:\u00e0-\u00ff]{0,80}$/);

describe('untrusted input never crashes and never leaks into a URL unchecked', () => {
  it('registrableDomainOf returns undefined or a plain LDH name for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), hostish, fc.domain()), (input) => {
        const domain = registrableDomainOf(input);
        if (domain !== undefined) expect(domain).toMatch(LDH_NAME);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseRdapDomainResponse returns an outcome for any JSON or bytes', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((value) => JSON.stringify(value)), fc.string()), (text) => {
        const outcome = parseRdapDomainResponse(Buffer.from(text), 'x.test', 'http://127.0.0.1/');
        expect(['registered', 'no_registration_date', 'error']).toContain(outcome.status);
        if (outcome.status === 'registered') expect(Number.isFinite(outcome.registeredAt)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('parseRdapBootstrap either indexes the data or throws rdap_bootstrap_invalid', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        try {
          parseRdapBootstrap(value);
        } catch (error) {
          expect((error as { code?: string }).code).toBe('rdap_bootstrap_invalid');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parseDomainFeed accepts any text and keeps only LDH registrable domains', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(hostish, fc.domain(), fc.constant('# comment'))).map((lines) => lines.join('\n')), (text) => {
        for (const domain of parseDomainFeed(text).domains) expect(domain).toMatch(LDH_NAME);
      }),
      { numRuns: 500 },
    );
  });
});
