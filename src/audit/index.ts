export { createAuditLog, type AuditLog, type AuditEvent, type StoredAuditEvent } from './audit-log.js';
export { canonicalJson } from './canonical-json.js';
export { GENESIS_HASH, hashAuditEvent, canonicalAuditEvent, type ChainedEventFields } from './event-hash.js';
export { verifyAuditChain, type AuditVerification, type AuditProblem, type AuditProblemKind, type VerifyAuditOptions } from './verify-audit-chain.js';
export { queryAudit, type AuditQuery, type AuditRecord } from './query-audit.js';
export { pruneAuditLog, type PruneAuditResult } from './prune-audit-log.js';
export { readAuditHead, type AuditHead } from './audit-head.js';
export { checkpointKeyFingerprint, ensureCheckpointPublicKey, loadCheckpointKey, readCheckpointKey, type CheckpointKey, type CheckpointPublicKey } from './checkpoint-key.js';
export type { AuditCheckpoint } from './audit-checkpoint.js';
