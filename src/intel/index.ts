/** Domain intelligence: lookalike detection, registration age and the combined verdict. */
export { buildDomainIntel, type DomainIntel } from './build-domain-intel.js';
export type { PublicOnlyAgentOptions } from './domain-age/index.js';
export { createLookalikeDetector, type LookalikeDetector, type LookalikeVerdict } from './lookalike/index.js';
export { createDomainClassifier, humanReasonFor, type DomainClassifier, type DomainVerdict } from './domain-verdict/index.js';
