import type { RestartOnlyKey } from '../lib/restart-only-changes.js';

/** What the process opens once: listeners, the logger, the database pool, the key-encryption key. */
export const SERVER_RESTART_ONLY_KEYS: readonly RestartOnlyKey[] = [
  { path: 'server.http', reason: 'listeners are bound at start' },
  { path: 'server.https', reason: 'listeners are bound at start' },
  { path: 'server.metrics', reason: 'the metrics listener is bound at start' },
  { path: 'server.body_limit_bytes', reason: 'the portal body parser is configured at start' },
  { path: 'server.key_encryption_key_file', reason: 'private keys are unsealed with the key read at start' },
  { path: 'server.key_encryption_key', reason: 'private keys are unsealed with the key read at start' },
  { path: 'database', reason: 'the database pool and change feed are opened at start' },
  { path: 'logging', reason: 'the logger is created at start' },
];
