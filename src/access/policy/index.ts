/**
 * The access policy engine: config policies compiled once per snapshot into a flat integer
 * program (the hot path) and readable closures (the audit detail), evaluated per request without
 * parsing. Public surface of src/access/policy.
 */
export {
  compilePolicyEngine,
  type CompiledApp,
  type PolicyEngine,
  type PolicyEngineOptions,
} from './compile-policy-engine.js';
export {
  REASON_CODES,
  reasonCode,
  type AccessIdentity,
  type AccessRequest,
  type AccessServiceToken,
  type Decision,
  type DecisionOutcome,
  type PolicyAction,
  type ReasonCode,
} from './decision.js';
export { explainDecision, NEEDS_HARDWARE_KEY, NEEDS_KEY_OR_PASSKEY } from './explain-decision.js';
export { compileNonWebAppPolicy, identityOfSession, nonWebEngineApps, nonWebMethod, type NonWebAppKind, type NonWebAppPolicy } from './non-web-app-policy.js';
export { testPolicy, type PolicyTestInput, type PolicyTestResult, type PolicyTrace } from './test-policy.js';
export { describePolicy } from './describe-policy.js';
export { normalizeRequestPath, pathRefusalOf, type PathRefusal } from './normalize-path.js';
