export { createAuditLog, type AuditLog, type AuditEvent, type StoredAuditEvent } from './audit-log.js';
export { canonicalJson } from './canonical-json.js';
export { GENESIS_HASH, hashAuditEvent, canonicalAuditEvent, type ChainedEventFields } from './event-hash.js';
