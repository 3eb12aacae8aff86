/**
 * Offline fit of the lookalike scorer: an L2-regularised logistic regression (Newton's method, so the
 * result is deterministic: no random start, no sampling) over the features the detector's analyses
 * give (src/intel/lookalike/lookalike-features.ts), and a threshold chosen for a false-positive budget
 * on out-of-fold scores of the popular domains. Used by scripts/fit-lookalike-model.ts and by
 * scripts/eval-lookalike.ts (which refits it without each held-out organisation).
 */
import type { DnsProtectConfig } from '../src/config/index.js';
import { createLookalikeDetector, FEATURE_COUNT, FEATURE_NAMES, type LookalikeModel } from '../src/intel/lookalike/index.js';
import { fnv1a } from '../test/fixtures/lookalike/evaluation.js';

export interface FitOptions {
  /** L2 penalty on the weights (not the bias). */
  readonly l2: number;
  /** False positives allowed per 50,000 negatives, applied to the out-of-fold scores. */
  readonly budgetPer50k: number;
  /** Folds for the out-of-fold threshold choice. */
  readonly folds: number;
  /** Group of a positive name (its target organisation): a group stays within one fold. */
  readonly groupOf: (name: string) => string;
}

export const DEFAULT_FIT: Omit<FitOptions, 'groupOf'> = { l2: 1, budgetPer50k: 10, folds: 5 };

interface Row {
  readonly x: Float64Array;
  readonly y: 0 | 1;
  readonly fold: number;
}

/** Feature vectors of the names that have a finding (the others score 0 and are never flagged). */
export function extractFeatures(config: DnsProtectConfig, names: readonly string[]): Map<string, Float64Array> {
  let last: Float64Array | undefined;
  const detector = createLookalikeDetector({ ...config, cache_entries: 0 }, { model: null, onFeatures: (f) => (last = Float64Array.from(f)) });
  const out = new Map<string, Float64Array>();
  for (const name of names) {
    last = undefined;
    detector.check(name);
    if (last !== undefined) out.set(name, last);
  }
  return out;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, k) => [...row, b[k] ?? 0]);
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r;
    [m[col], m[pivot]] = [m[pivot]!, m[col]!];
    const p = m[col]![col]!;
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r]![col]! / p;
      for (let c = col; c <= n; c++) m[r]![c]! -= f * m[col]![c]!;
    }
  }
  return m.map((row, k) => row[n]! / row[k]!);
}

/** Weights (index 0: bias) of an L2 logistic regression by Newton's method. */
export function fitLogistic(rows: readonly Row[], l2: number, iterations = 25): number[] {
  const d = FEATURE_COUNT + 1;
  let w = new Array<number>(d).fill(0);
  for (let it = 0; it < iterations; it++) {
    const grad = new Array<number>(d).fill(0);
    const hess = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (const row of rows) {
      let z = w[0]!;
      for (let k = 0; k < FEATURE_COUNT; k++) z += w[k + 1]! * row.x[k]!;
      const p = sigmoid(z);
      const r = p - row.y;
      const s = Math.max(p * (1 - p), 1e-9);
      for (let a = 0; a < d; a++) {
        const xa = a === 0 ? 1 : row.x[a - 1]!;
        if (xa === 0) continue;
        grad[a]! += r * xa;
        for (let b = 0; b < d; b++) {
          const xb = b === 0 ? 1 : row.x[b - 1]!;
          if (xb !== 0) hess[a]![b]! += s * xa * xb;
        }
      }
    }
    for (let a = 1; a < d; a++) {
      grad[a]! += l2 * w[a]!;
      hess[a]![a]! += l2;
    }
    hess[0]![0]! += 1e-6;
    const step = solve(hess, grad);
    w = w.map((v, k) => v - step[k]!);
    if (Math.max(...step.map(Math.abs)) < 1e-8) break;
  }
  return w;
}

function logOdds(w: readonly number[], x: Float64Array): number {
  let z = w[0]!;
  for (let k = 0; k < FEATURE_COUNT; k++) z += w[k + 1]! * x[k]!;
  return z;
}

export interface FitResult {
  readonly model: LookalikeModel;
  /** Out-of-fold figures at the chosen threshold (groups of positives never in their own fit). */
  readonly cv: { readonly caught: number; readonly positives: number; readonly falsePositives: number; readonly negatives: number };
}

/**
 * Fits the scorer on `positives` (phishing names) and `negatives` (legitimate names) under `config`,
 * and sets the threshold so that out-of-fold false positives stay within the budget.
 */
export function fitLookalikeModel(config: DnsProtectConfig, positives: readonly string[], negatives: readonly string[], options: FitOptions): FitResult {
  const pos = extractFeatures(config, positives);
  const neg = extractFeatures(config, negatives);
  const rows: Row[] = [];
  for (const [name, x] of pos) rows.push({ x, y: 1, fold: fnv1a(options.groupOf(name)) % options.folds });
  for (const [name, x] of neg) rows.push({ x, y: 0, fold: fnv1a(`negative:${name}`) % options.folds });
  const outOfFold = new Float64Array(rows.length);
  for (let fold = 0; fold < options.folds; fold++) {
    const w = fitLogistic(rows.filter((r) => r.fold !== fold), options.l2);
    rows.forEach((r, k) => {
      if (r.fold === fold) outOfFold[k] = logOdds(w, r.x);
    });
  }
  const allowed = Math.floor((options.budgetPer50k * negatives.length) / 50_000);
  const negativeScores = rows.flatMap((r, k) => (r.y === 0 ? [outOfFold[k]!] : [])).sort((a, b) => b - a);
  const above = negativeScores[allowed];
  const below = allowed > 0 ? negativeScores[allowed - 1] : undefined;
  const threshold = above === undefined ? -Infinity : below === undefined ? above + 1e-6 : (above + below) / 2;
  const caught = rows.filter((r, k) => r.y === 1 && outOfFold[k]! >= threshold).length;
  const falsePositives = rows.filter((r, k) => r.y === 0 && outOfFold[k]! >= threshold).length;
  const w = fitLogistic(rows, options.l2);
  const finite = Number.isFinite(threshold) ? threshold : -50;
  return {
    model: { features: [...FEATURE_NAMES], weights: w.slice(1), bias: w[0]!, threshold: finite },
    cv: { caught, positives: positives.length, falsePositives, negatives: negatives.length },
  };
}
