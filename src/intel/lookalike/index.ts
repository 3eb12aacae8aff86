/** Brand-lookalike detection for the DNS gateway: the public surface of `src/intel/lookalike/`. */
export { createLookalikeDetector } from './create-lookalike-detector.js';
export type { LookalikeDetector, LookalikeReason, LookalikeReasonCode, LookalikeVerdict } from './lookalike-verdict.js';
export type { DnsProtectConfig } from '../../config/index.js';
