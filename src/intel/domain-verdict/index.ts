export { createDomainClassifier, type DomainClassifier, type DomainClassifierOptions } from './domain-classifier.js';
export {
  strictestAction,
  type DomainVerdict,
  type LookalikeChecker,
  type LookalikeResult,
  type VerdictAction,
} from './domain-verdict.js';
export { humanReasonFor } from './human-reason.js';
