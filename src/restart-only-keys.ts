import { ACCESS_RESTART_ONLY_KEYS } from './access/index.js';
import { DNS_RESTART_ONLY_KEYS } from './dns/index.js';
import type { RestartOnlyKey } from './lib/restart-only-changes.js';
import { REPORTS_RESTART_ONLY_KEYS } from './reports/index.js';
import { SERVER_RESTART_ONLY_KEYS } from './server/index.js';

/**
 * Every setting a running Gatehouse cannot apply, from each capability's own list: the reload log line
 * and `gatehouse config check` name them. Any key not listed here takes effect on a reload.
 */
export const RESTART_ONLY_KEYS: readonly RestartOnlyKey[] = [...SERVER_RESTART_ONLY_KEYS, ...ACCESS_RESTART_ONLY_KEYS, ...DNS_RESTART_ONLY_KEYS, ...REPORTS_RESTART_ONLY_KEYS];
