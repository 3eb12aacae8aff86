export { createAuditLog, type AuditLog, type AuditEvent, type StoredAuditEvent } from './audit-log.js';
