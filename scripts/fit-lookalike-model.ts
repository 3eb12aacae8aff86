/**
 * Fits the shipped lookalike scorer and writes src/intel/lookalike/lookalike-model.json with the
 * provenance of its training data (files, SHA-256, line counts, date, command). Review the weights
 * (printed) before committing them.
 *
 *   npx tsx scripts/fit-lookalike-model.ts [--l2 1] [--budget 10] [--out src/intel/lookalike/lookalike-model.json]
 *
 * Training data: positives, the phishing dev set; negatives, parts 1-4 of the popular list (part 0,
 * a hash fifth, is never used: scripts/eval-lookalike.ts measures false positives on it). Configuration:
 * the user configuration derived from test/fixtures/lookalike/protect.yaml (its domains only).
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadDomainList, loadProtectFixture, PHISHING_DEV_FILE, POPULAR_FILE } from '../test/fixtures/lookalike/datasets.js';
import { popularPart, targetOrganisations, userConfig } from '../test/fixtures/lookalike/evaluation.js';
import { DEFAULT_FIT, fitLookalikeModel } from './lookalike-fit.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name: string, fallback: string): string => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? fallback) : fallback);
const l2 = Number(option('--l2', String(DEFAULT_FIT.l2)));
const budget = Number(option('--budget', String(DEFAULT_FIT.budgetPer50k)));
const out = option('--out', join(root, 'src/intel/lookalike/lookalike-model.json'));

const fixture = loadProtectFixture();
const phishing = loadDomainList(PHISHING_DEV_FILE);
const negatives = loadDomainList(POPULAR_FILE).filter((name) => popularPart(name) !== 0);
const organisation = targetOrganisations(fixture, phishing);
const { model, cv } = fitLookalikeModel(userConfig(fixture), phishing, negatives, {
  ...DEFAULT_FIT,
  l2,
  budgetPer50k: budget,
  groupOf: (name) => organisation.get(name) ?? name,
});
const describeFile = (file: string) => {
  const bytes = readFileSync(file);
  return { file: relative(join(root, '..'), file), sha256: createHash('sha256').update(bytes).digest('hex'), lines: bytes.toString('utf8').split('\n').filter((l) => l.trim() && !l.startsWith('#')).length };
};
const document = {
  description: 'Logistic regression over FEATURE_NAMES (src/intel/lookalike/lookalike-features.ts); threshold is log-odds, set for a false-positive budget on out-of-fold scores.',
  ...model,
  provenance: {
    fitted: new Date().toISOString().slice(0, 10),
    command: `npx tsx scripts/fit-lookalike-model.ts --l2 ${l2} --budget ${budget}`,
    positives: describeFile(PHISHING_DEV_FILE),
    negatives: { ...describeFile(POPULAR_FILE), used: `parts 1-4 of 5 by hash (${negatives.length} names); part 0 held out for evaluation` },
    configuration: 'userConfig(test/fixtures/lookalike/protect.yaml): the fixture domains, brands = their registrable labels',
    regularisation: { l2 },
    budget_per_50k: budget,
    out_of_fold: cv,
  },
};
writeFileSync(out, `${JSON.stringify(document, null, 1)}\n`);
console.log(`out-of-fold (folds by target organisation): recall ${cv.caught}/${cv.positives}, false positives ${cv.falsePositives}/${cv.negatives}`);
console.log(`threshold (log-odds) ${model.threshold.toFixed(3)}, bias ${model.bias.toFixed(3)}`);
model.features.forEach((f, k) => console.log(`  ${f.padEnd(26)} ${(model.weights[k] ?? 0).toFixed(3)}`));
console.log(`written: ${out}`);
