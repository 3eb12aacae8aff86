import { describe, expect, it } from 'vitest';
import { stixValidator } from '../../../test/incident/stix-schema-validator.js';
import { buildStixBundle, patternFor, stableUuid, stixAddressValue, stixString } from './stix-bundle.js';

const input = {
  incidentId: 'inc-0f7e2c52-1d1e-4e53-9a7e-2f0c9d1b7a11',
  title: 'SMS phishing: acme-okta.com',
  organisation: 'Acme Corp',
  declaredAt: Date.UTC(2026, 6, 20, 14, 3, 7, 250),
  indicators: { domains: ['acme-okta.com'], ips: ['203.0.113.7/32', '198.51.100.0/24', '2001:db8::1/128'], urls: ["https://acme-okta.com/login?next=it's"], users: ['alice@acme.test'], tokens: [], credentials: [] },
};

describe('STIX 2.1 export', () => {
  const schema = stixValidator();

  it('builds a bundle that validates against the OASIS schemas, object by object', () => {
    const bundle = buildStixBundle(input);
    const validBundle = schema('common/bundle');
    expect(validBundle(bundle), JSON.stringify(validBundle.errors)).toBe(true);
    for (const object of bundle.objects) {
      const validate = schema(`sdos/${object.type}`);
      expect(validate(object), `${object.type}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    const patterns = bundle.objects.filter((o) => o.type === 'indicator').map((o) => o.pattern);
    expect(patterns).toEqual([
      "[domain-name:value = 'acme-okta.com']",
      "[ipv4-addr:value = '203.0.113.7']",
      "[ipv4-addr:value = '198.51.100.0/24']",
      "[ipv6-addr:value = '2001:db8::1']",
      "[url:value = 'https://acme-okta.com/login?next=it\\'s']",
    ]);
    const report = bundle.objects.find((o) => o.type === 'report')!;
    expect(report.object_refs).toHaveLength(6);
    expect(JSON.stringify(bundle)).not.toContain('alice@acme.test');
  });

  it('is deterministic per incident (a resumed export mints no new ids) and differs across incidents', () => {
    expect(buildStixBundle(input)).toEqual(buildStixBundle(input));
    const other = buildStixBundle({ ...input, incidentId: 'inc-5b1f4b8e-0000-4000-8000-000000000000' });
    expect(other.objects[1]!.id).not.toBe(buildStixBundle(input).objects[1]!.id);
  });

  it('a schema rejects a broken object (the validator can fail)', () => {
    const bundle = buildStixBundle(input);
    const broken = { ...bundle.objects[1]!, id: 'indicator--not-a-uuid', valid_from: 'yesterday' };
    expect(schema('sdos/indicator')(broken)).toBe(false);
  });

  it('keeps network prefixes: 2001:db8::/32 is exported as the /32, not as the one address 2001:db8::', () => {
    const bundle = buildStixBundle({
      ...input,
      indicators: { domains: [], ips: ['2001:db8::/32', '2001:db8:1::/48', '10.0.0.0/8', '192.0.2.0/31', '2001:db8::5/128', '192.0.2.9/32'], urls: [], users: [], tokens: [], credentials: [] },
    });
    const indicators = bundle.objects.filter((o) => o.type === 'indicator');
    expect(indicators.map((o) => o.pattern)).toEqual([
      "[ipv6-addr:value = '2001:db8::/32']",
      "[ipv6-addr:value = '2001:db8:1::/48']",
      "[ipv4-addr:value = '10.0.0.0/8']",
      "[ipv4-addr:value = '192.0.2.0/31']",
      "[ipv6-addr:value = '2001:db8::5']",
      "[ipv4-addr:value = '192.0.2.9']",
    ]);
    expect(indicators[0]!.name).toBe('Attacker address: 2001:db8::/32');
    for (const object of indicators) {
      const validate = schema('sdos/indicator');
      expect(validate(object), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(stixAddressValue('2001:db8::/32')).toBe('2001:db8::/32');
    expect(stixAddressValue('198.51.100.7/32')).toBe('198.51.100.7');
    expect(stixAddressValue('::ffff:198.51.100.7/128')).toBe('::ffff:198.51.100.7');
  });

  it('escapes pattern string literals and makes RFC 9562 v5 UUIDs', () => {
    expect(stixString("a'b\\c")).toBe("'a\\'b\\\\c'");
    expect(patternFor('domain', "x'.com")).toBe("[domain-name:value = 'x\\'.com']");
    expect(stableUuid('ns', 'name')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
