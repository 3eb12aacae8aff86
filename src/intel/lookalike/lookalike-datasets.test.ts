import { describe, expect, it } from 'vitest';
import {
  datasetsPresent,
  loadDomainList,
  loadProtectFixture,
  PHISHING_DEV_FILE,
  POPULAR_FILE,
} from '../../../test/fixtures/lookalike/datasets.js';
import { benignNames } from '../../../test/fixtures/lookalike/benign-names.js';
import { brandHalf, configForHalf } from '../../../test/fixtures/lookalike/brand-split.js';
import { popularPart, userConfig } from '../../../test/fixtures/lookalike/evaluation.js';
import { createLookalikeDetector } from './index.js';

/**
 * Recall on the group's 2023-2025 phishing domains and false positives on the 50k most popular
 * domains, with the one fixture configuration (test/fixtures/lookalike/protect.yaml).
 *
 * The targets are recall >= 95 % and at most 10 false positives. Measured now: 95.1 % (367/386) and
 * 10. The 19 misses are names with no brand in them (`preventphishing.net`, `my-tsl.com`), a brand
 * beside an ordinary word, which popular domains of the brands themselves also are (`sykes-factor`
 * as `apple-mapkit.com`), one typo that also makes ordinary names, and a subdomain of a protected
 * domain. The bounds hold what is reached, so that a regression fails; see
 * `npm run bench:lookalike` for the names missed and flagged.
 *
 * These are in-sample figures: the fixture's extra brands (`tmo`, `pennkey`, `zd`...) and the rules
 * were written from this set. The held-out figures (`npm run eval:lookalike`: leave-brand-out, the
 * configuration a team writes from its domains alone, false positives on a fifth of the popular list
 * held out of every prior and fit) are lower, and are guarded below as measured.
 */
const MAX_MISSES = 19;
const RECALL_FLOOR = (386 - MAX_MISSES) / 386;
const MAX_FALSE_POSITIVES = 10;

const present = datasetsPresent();
if (!present && process.env.GATEHOUSE_REQUIRE_PEERS === '1') throw new Error(`lookalike datasets missing: ${PHISHING_DEV_FILE}`);
if (!present) process.stderr.write(`\n[SKIPPED] lookalike dataset test: ${PHISHING_DEV_FILE} not found\n`);

describe.runIf(present)('lookalike detector on the shared datasets', () => {
  const detector = createLookalikeDetector(loadProtectFixture());

  it(`flags at least ${(RECALL_FLOOR * 100).toFixed(1)} % of the dev phishing set`, () => {
    const phishing = loadDomainList(PHISHING_DEV_FILE);
    expect(phishing.length).toBe(386);
    const misses = phishing.filter((name) => !detector.check(name).lookalike);
    const recall = (phishing.length - misses.length) / phishing.length;
    expect(recall, `missed: ${misses.join(' ')}`).toBeGreaterThanOrEqual(RECALL_FLOOR);
    expect(misses.length).toBeLessThanOrEqual(MAX_MISSES);
  });

  it(`flags at most ${MAX_FALSE_POSITIVES} of the 50k popular domains`, () => {
    const popular = loadDomainList(POPULAR_FILE);
    expect(popular.length).toBe(50_000);
    const flagged = popular.filter((name) => detector.check(name).lookalike);
    expect(flagged.length, `flagged: ${flagged.join(' ')}`).toBeLessThanOrEqual(MAX_FALSE_POSITIVES);
  });

  it('user configuration (domains only, no brand picked from the phishing set): measured 91.5 % (353/386), 10 FPs in the 50k, 2 in the held-out fifth', () => {
    const user = createLookalikeDetector(userConfig(loadProtectFixture()));
    const phishing = loadDomainList(PHISHING_DEV_FILE);
    const popular = loadDomainList(POPULAR_FILE);
    expect(phishing.filter((name) => user.check(name).lookalike).length).toBeGreaterThanOrEqual(353);
    expect(popular.filter((name) => user.check(name).lookalike).length).toBeLessThanOrEqual(10);
    expect(popular.filter((name) => popularPart(name) === 0 && user.check(name).lookalike).length).toBeLessThanOrEqual(2);
  });

  it('the shipped fitted scorer under the user configuration: measured 90.9 % (351/386) and 11 FPs in the 50k (fit in-sample)', () => {
    const model = createLookalikeDetector({ ...userConfig(loadProtectFixture()), scorer: 'model' });
    expect(loadDomainList(PHISHING_DEV_FILE).filter((name) => model.check(name).lookalike).length).toBeGreaterThanOrEqual(351);
    expect(loadDomainList(POPULAR_FILE).filter((name) => model.check(name).lookalike).length).toBeLessThanOrEqual(11);
  });

  it('every verdict on the datasets is well formed', () => {
    for (const name of [...loadDomainList(PHISHING_DEV_FILE).slice(0, 50), ...loadDomainList(POPULAR_FILE).slice(0, 200)]) {
      const verdict = detector.check(name);
      expect(verdict.score).toBeGreaterThanOrEqual(0);
      expect(verdict.score).toBeLessThanOrEqual(1);
      if (verdict.lookalike) expect(verdict.reasons.length).toBeGreaterThan(0);
    }
  });

  it('held out by brand: lure words alone catch 40 % or more of the names of brands the detector was not told about', () => {
    const config = loadProtectFixture();
    const phishing = loadDomainList(PHISHING_DEV_FILE);
    for (const which of [0, 1] as const) {
      const partial = createLookalikeDetector(configForHalf(config, which));
      const other = phishing.filter((name) => {
        const brand = detector.check(name).brand;
        return brand !== undefined && brandHalf(brand) !== which;
      });
      const caught = other.filter((name) => partial.check(name).lookalike).length;
      // Measured: 45 % and 72 % (the halves differ: one holds most `<brand>-okta` names).
      expect(caught / other.length).toBeGreaterThanOrEqual(0.4);
    }
  });

  it('flags at most 1 % of generated legitimate names of any shape (small businesses, personal sites)', () => {
    for (const [template, names] of benignNames(4000)) {
      const flagged = names.filter((name) => detector.check(name).lookalike);
      expect(flagged.length / names.length, `${template}: ${flagged.slice(0, 20).join(' ')}`).toBeLessThanOrEqual(0.01);
    }
  });
});
