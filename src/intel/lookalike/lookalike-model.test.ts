import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dnsProtectSchema } from '../../config/index.js';
import { createLookalikeDetector, FEATURE_NAMES, loadKnownGoodDomains, SHIPPED_MODEL } from './index.js';

const config = dnsProtectSchema.parse({ brands: ['acme', 'contoso'], domains: ['acme.com', 'contoso.com'] });

describe('fitted scorer (dns.protect.scorer: model)', () => {
  const model = createLookalikeDetector({ ...config, scorer: 'model' });
  const rules = createLookalikeDetector(config);

  it('the shipped model lists this build\'s features', () => {
    expect(SHIPPED_MODEL.features).toEqual([...FEATURE_NAMES]);
    expect(SHIPPED_MODEL.weights).toHaveLength(FEATURE_NAMES.length);
  });

  it('flags the campaign pattern and keeps the rules\' named reasons', () => {
    for (const name of ['acme-okta.com', 'contoso-sso.net', 'acmehr.com']) {
      const verdict = model.check(name);
      expect(verdict.lookalike, JSON.stringify(verdict)).toBe(true);
      expect(verdict.reasons.map((r) => r.code)).toEqual(rules.check(name).reasons.map((r) => r.code));
      expect(verdict.score).toBeGreaterThanOrEqual(config.threshold);
      expect(verdict.score).toBeLessThanOrEqual(1);
    }
  });

  it('names with no finding score 0 under the model too', () => {
    expect(model.check('example.org')).toMatchObject({ lookalike: false, score: 0, reasons: [] });
  });

  it('a weights file whose features are not this build\'s is refused with invalid_config', () => {
    const stale = { ...SHIPPED_MODEL, features: SHIPPED_MODEL.features.slice(1) };
    expect(() => createLookalikeDetector(config, { model: stale })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    const broken = { ...SHIPPED_MODEL, weights: SHIPPED_MODEL.weights.map(() => Number.NaN) };
    expect(() => createLookalikeDetector(config, { model: broken })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});

describe('known-good prior', () => {
  const dir = mkdtempSync(join(tmpdir(), 'known-good-'));
  const file = join(dir, 'top.csv');
  writeFileSync(file, '# popular domains\n1,acme-support.com\n2,contoso-login.net.\nacmehr.com\n\n');

  it('reads plain and rank,domain lines; its registrable domains and their subdomains are never flagged', () => {
    const knownGood = loadKnownGoodDomains(file);
    expect([...knownGood].sort()).toEqual(['acme-support.com', 'acmehr.com', 'contoso-login.net']);
    const detector = createLookalikeDetector(config, { knownGood });
    for (const name of ['acme-support.com', 'www.contoso-login.net', 'acmehr.com']) {
      expect(detector.check(name)).toMatchObject({ lookalike: false, score: 0, reasons: [{ code: 'known_good_domain' }] });
    }
    // Not on the list: still flagged.
    expect(detector.check('acme-support.net').lookalike).toBe(true);
  });

  it('a missing file is refused at start-up with invalid_config', () => {
    expect(() => loadKnownGoodDomains(join(dir, 'missing.txt'))).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});
