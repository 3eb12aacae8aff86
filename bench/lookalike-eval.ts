/**
 * Lookalike detector evaluation: recall on the phishing dev set, false positives on the 50k popular
 * domains, and the cost of one `check` on the DNS hot path. Run: `npx tsx bench/lookalike-eval.ts`
 * (extra arguments are names to explain, e.g. `npx tsx bench/lookalike-eval.ts acme-okta.com`).
 */
import { performance } from 'node:perf_hooks';
import { createLookalikeDetector } from '../src/intel/lookalike/index.js';
import { loadDomainList, loadProtectFixture, PHISHING_DEV_FILE, POPULAR_FILE } from '../test/fixtures/lookalike/datasets.js';

const buildStart = performance.now();
const config = loadProtectFixture();
const detector = createLookalikeDetector(config);
const buildMs = performance.now() - buildStart;

const phishing = loadDomainList(PHISHING_DEV_FILE);
const popular = loadDomainList(POPULAR_FILE);
const misses = phishing.filter((name) => !detector.check(name).lookalike);
const falsePositives = popular.map((name) => detector.check(name)).filter((verdict) => verdict.lookalike);

// Timing: warm up, then several rounds over every name; the median round is reported.
const names = [...popular, ...phishing];
for (let k = 0; k < 2; k++) for (const name of names) detector.check(name);
const rounds: number[] = [];
let sink = 0;
for (let round = 0; round < 5; round++) {
  const start = performance.now();
  for (const name of names) sink += detector.check(name).score;
  rounds.push(((performance.now() - start) * 1000) / names.length);
}
rounds.sort((a, b) => a - b);
const popularOnly = performance.now();
for (const name of popular) sink += detector.check(name).score;
const popularUs = ((performance.now() - popularOnly) * 1000) / popular.length;

const recall = (phishing.length - misses.length) / phishing.length;
const rows: [string, string, string][] = [
  ['brands / protected domains', `${config.brands.length} / ${config.domains.length}`, ''],
  ['detector build', `${buildMs.toFixed(0)} ms`, ''],
  ['recall (dev phishing set)', `${(recall * 100).toFixed(1)} % (${phishing.length - misses.length}/${phishing.length})`, 'target >= 95 %'],
  ['misses', String(misses.length), ''],
  ['false positives (popular 50k)', String(falsePositives.length), 'target <= 10'],
  ['check, median of 5 rounds', `${rounds[2]?.toFixed(2)} µs/name`, `${names.length} names per round`],
  ['check, popular names only', `${popularUs.toFixed(2)} µs/name`, 'mostly no brand: the common case'],
];
const width = Math.max(...rows.map((r) => r[0].length));
console.log(`\n${'metric'.padEnd(width)}  ${'value'.padEnd(26)}  note`);
for (const [metric, value, note] of rows) console.log(`${metric.padEnd(width)}  ${value.padEnd(26)}  ${note}`);
console.log(`\nMisses (${misses.length}):`);
for (const name of misses) {
  const verdict = detector.check(name);
  console.log(`  ${name.padEnd(36)} score ${verdict.score.toFixed(2)} ${verdict.reasons.map((r) => r.code).join(',')}`);
}
console.log(`\nFalse positives (${falsePositives.length}):`);
for (const verdict of falsePositives) {
  console.log(`  ${verdict.name.padEnd(36)} score ${verdict.score.toFixed(2)} ${verdict.brand ?? '-'} ${verdict.reasons.map((r) => r.code).join(',')}`);
}
for (const name of process.argv.slice(2)) console.log(JSON.stringify(detector.check(name), null, 2));
if (sink < 0) console.log(sink);
