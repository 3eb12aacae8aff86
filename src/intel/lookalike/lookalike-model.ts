import { InputError } from '../../lib/errors.js';
import { FEATURE_COUNT, FEATURE_NAMES } from './lookalike-features.js';
import shipped from './lookalike-model.json' with { type: 'json' };

/**
 * A logistic-regression scorer over FEATURE_NAMES, fit offline by scripts/fit-lookalike-model.ts.
 * `threshold` is the log-odds from which a name is a lookalike, chosen for a false-positive budget on
 * popular domains, never for a recall figure.
 */
export interface LookalikeModel {
  readonly features: readonly string[];
  readonly weights: readonly number[];
  readonly bias: number;
  /** Log-odds threshold. */
  readonly threshold: number;
}

/** Refuses a model whose features are not this build's (a stale or hand-edited weights file). */
export function validateModel(model: LookalikeModel): LookalikeModel {
  const same = model.features.length === FEATURE_COUNT && model.features.every((f, k) => f === FEATURE_NAMES[k]);
  if (!same || model.weights.length !== FEATURE_COUNT || !model.weights.every(Number.isFinite) || !Number.isFinite(model.bias)) {
    throw new InputError('lookalike model: its features do not match this build (refit with scripts/fit-lookalike-model.ts)', 'invalid_config');
  }
  return model;
}

/** The reviewed weights shipped with the package (src/intel/lookalike/lookalike-model.json). */
export const SHIPPED_MODEL: LookalikeModel = validateModel(shipped as LookalikeModel);

/** Log-odds of the features. */
export function logOdds(model: LookalikeModel, x: Float64Array): number {
  let z = model.bias;
  const w = model.weights;
  for (let k = 0; k < FEATURE_COUNT; k++) z += (w[k] ?? 0) * (x[k] ?? 0);
  return z;
}

/**
 * The 0..1 score shown in verdicts: the model's log-odds shifted so that its threshold lands on the
 * configured `threshold` (so `score >= threshold` is the model's decision, and downstream settings
 * on the score scale, such as the newly-registered-domain minimum, keep their meaning).
 */
export function modelScore(model: LookalikeModel, z: number, threshold: number): number {
  const t = Math.min(Math.max(threshold, 1e-6), 1 - 1e-6);
  return 1 / (1 + Math.exp(-(z - model.threshold + Math.log(t / (1 - t)))));
}
