/** Brand-lookalike detection for the DNS gateway: the public surface of `src/intel/lookalike/`. */
export { createLookalikeDetector, type LookalikeDetectorOptions } from './create-lookalike-detector.js';
export { loadKnownGoodDomains } from './known-good-domains.js';
export { FEATURE_COUNT, FEATURE_NAMES } from './lookalike-features.js';
export { SHIPPED_MODEL, type LookalikeModel } from './lookalike-model.js';
export type { LookalikeDetector, LookalikeReason, LookalikeReasonCode, LookalikeVerdict } from './lookalike-verdict.js';
export type { DnsProtectConfig } from '../../config/index.js';
