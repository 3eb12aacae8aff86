/**
 * Lookalike detector evaluation: recall on the phishing dev set, false positives on the 50k popular
 * domains, held-out estimates (brands the detector was not told about; generated legitimate names),
 * and the cost of one `check` on the DNS hot path, first sight and repeat, against baselines measured
 * in the same run (a `Set` lookup as a blocklist does, and the public-suffix lookup alone).
 *
 *   npx tsx bench/lookalike-eval.ts               (or: npm run bench:lookalike)
 *   npx tsx bench/lookalike-eval.ts acme-okta.com (also explains the names given)
 *
 * Times are CPU microseconds per name (process.cpuUsage: the machine is shared, wall time is noisy),
 * best of 5 rounds; wall time is shown beside them.
 */
import { performance } from 'node:perf_hooks';
import { getPublicSuffix } from 'tldts';
import { createLookalikeDetector, type LookalikeDetector } from '../src/intel/lookalike/index.js';
import { benignNames } from '../test/fixtures/lookalike/benign-names.js';
import { brandHalf, configForHalf } from '../test/fixtures/lookalike/brand-split.js';
import { loadDomainList, loadProtectFixture, PHISHING_DEV_FILE, POPULAR_FILE } from '../test/fixtures/lookalike/datasets.js';

const config = loadProtectFixture();
const buildStart = performance.now();
const detector = createLookalikeDetector(config);
const buildMs = performance.now() - buildStart;

const phishing = loadDomainList(PHISHING_DEV_FILE);
const popular = loadDomainList(POPULAR_FILE);
const misses = phishing.filter((name) => !detector.check(name).lookalike);
const falsePositives = popular.map((name) => detector.check(name)).filter((verdict) => verdict.lookalike);
const recall = (phishing.length - misses.length) / phishing.length;
const percent = (part: number, whole: number): string => `${((100 * part) / Math.max(1, whole)).toFixed(1)} % (${part}/${whole})`;

// Held out by brand: configure one half of the brands, measure the names that target the other half.
const heldOut: [string, string, string][] = [];
for (const which of [0, 1] as const) {
  const partial = createLookalikeDetector(configForHalf(config, which));
  const target = (name: string) => detector.check(name).brand;
  const unconfigured = phishing.filter((name) => target(name) !== undefined && brandHalf(target(name) ?? '') !== which);
  const configured = phishing.filter((name) => target(name) !== undefined && brandHalf(target(name) ?? '') === which);
  const caught = (names: string[]) => names.filter((name) => partial.check(name).lookalike).length;
  heldOut.push([`half ${which} configured: recall on its own brands`, percent(caught(configured), configured.length), '']);
  heldOut.push([`half ${which} configured: recall on the other half`, percent(caught(unconfigured), unconfigured.length), 'brands it was not told about']);
  heldOut.push([`half ${which} configured: FPs on the 50k`, String(popular.filter((name) => partial.check(name).lookalike).length), '']);
}
const benign = benignNames(4000);
const benignFlagged: string[] = [];
for (const [template, names] of benign) {
  const flagged = names.filter((name) => detector.check(name).lookalike);
  benignFlagged.push(...flagged.slice(0, 12).map((name) => `${template}: ${name}`));
  heldOut.push([`generated legitimate names: ${template}`, `${percent(flagged.length, names.length)} flagged`, names.slice(0, 2).join(' ')]);
}

// Cost. The first rounds warm the JIT; an uncached detector gives the cost of a first sight.
const names = [...popular, ...phishing];
function measure(run: (round: number) => number, count: number): { cpu: number; wall: number } {
  let best = { cpu: Infinity, wall: Infinity };
  for (let round = 0; round < 5; round++) {
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    run(round);
    const cpu = process.cpuUsage(cpu0);
    const wall = performance.now() - wall0;
    if (cpu.user + cpu.system < best.cpu * count) best = { cpu: (cpu.user + cpu.system) / count, wall: (wall * 1000) / count };
  }
  return best;
}
let sink = 0;
const sweep = (d: LookalikeDetector, list: readonly string[]) => () => {
  for (const name of list) sink += d.check(name).score;
  return sink;
};
const blocklist = new Set(popular.slice(0, 25_000));
const setLookup = measure(() => {
  for (const name of names) if (blocklist.has(name)) sink++;
  return sink;
}, names.length);
const suffixOnly = measure(() => {
  for (const name of names) sink += getPublicSuffix(name, { allowPrivateDomains: true, validateHostname: false })?.length ?? 0;
  return sink;
}, names.length);
const uncached = createLookalikeDetector({ ...config, cache_entries: 0 });
const firstSight = measure(sweep(uncached, names), names.length);
const firstSightModel = measure(sweep(createLookalikeDetector({ ...config, cache_entries: 0, scorer: 'model' }), names), names.length);
const repeatSet = names.slice(0, 8_000);
const cached = createLookalikeDetector(config);
sweep(cached, repeatSet)();
const repeat = measure(sweep(cached, repeatSet), repeatSet.length);
// Names never seen under domains already seen (`<random>.cdn.example`): only the new label is analysed.
const subdomainRounds = [0, 1, 2, 3, 4].map((round) => repeatSet.map((name) => `n${round}x.${name}`));
const sameRegistrable = measure((round) => sweep(cached, subdomainRounds[round] ?? [])(), repeatSet.length);

const us = (m: { cpu: number; wall: number }): string => `${m.cpu.toFixed(2)} µs CPU (${m.wall.toFixed(2)} wall)`;
const rows: [string, string, string][] = [
  ['brands / protected domains', `${config.brands.length} / ${config.domains.length}`, ''],
  ['detector build', `${buildMs.toFixed(0)} ms`, 'cold, includes JIT warm-up'],
  ['recall (dev phishing set)', percent(phishing.length - misses.length, phishing.length), 'target >= 95 %'],
  ['false positives (popular 50k)', String(falsePositives.length), 'target <= 10'],
  ...heldOut,
  ['baseline: Set.has (blocklist)', us(setLookup), `${names.length} names`],
  ['baseline: public suffix lookup', us(suffixOnly), 'tldts getPublicSuffix'],
  ['check, first sight (uncached)', us(firstSight), 'cache_entries: 0'],
  ['check, first sight, fitted scorer', us(firstSightModel), 'scorer: model, cache_entries: 0'],
  ['check, repeat (cached name)', us(repeat), `${repeatSet.length} names in cache`],
  ['check, new name under a known domain', us(sameRegistrable), 'registrable-domain cache'],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${'metric'.padEnd(width)}  ${'value'.padEnd(34)}  note`);
for (const [metric, value, note] of rows) console.log(`${metric.padEnd(width)}  ${value.padEnd(34)}  ${note}`);
console.log(`\nrecall ${(recall * 100).toFixed(2)} %`);
console.log(`\nMisses (${misses.length}):`);
for (const name of misses) {
  const verdict = detector.check(name);
  console.log(`  ${name.padEnd(36)} score ${verdict.score.toFixed(2)} ${verdict.reasons.map((r) => r.code).join(',')}`);
}
console.log(`\nFalse positives (${falsePositives.length}):`);
for (const verdict of falsePositives) {
  console.log(`  ${verdict.name.padEnd(36)} score ${verdict.score.toFixed(2)} ${verdict.brand ?? '-'} ${verdict.reasons.map((r) => r.code).join(',')}`);
}
console.log(`\nGenerated legitimate names flagged (first 12 per template):`);
for (const line of benignFlagged) console.log(`  ${line}`);
for (const name of process.argv.slice(2)) console.log(JSON.stringify(detector.check(name), null, 2));
if (sink < 0) console.log(sink);
