import type { RestartOnlyKey } from '../lib/restart-only-changes.js';

/** `reports.*` settings a reload cannot apply; every other key is read on each report. */
export const REPORTS_RESTART_ONLY_KEYS: readonly RestartOnlyKey[] = [
  { path: 'reports.intake', reason: 'the SMTP intake listens on its address from start' },
  { path: 'reports.enabled', reason: 'the SMTP intake is started (or not) at start; the portal page follows it at once' },
];
