import { blockDomainsStep } from './block-domains.js';
import { blockIpsStep } from './block-ips.js';
import { exportStixStep } from './export-indicators.js';
import { forceReenrollmentStep } from './force-reenrollment.js';
import { huntStep } from './hunt-affected-users.js';
import type { PlaybookStep } from './playbook-step.js';
import { revokeCredentialsStep } from './revoke-credentials.js';
import { revokeSessionsStep } from './revoke-sessions.js';
import { warnEveryoneStep } from './warn-everyone.js';

/**
 * In STEP_NAMES order: leaked credentials revoked first, then blocks (fastest to take effect), then
 * hunt, contain, warn, share.
 */
export const PLAYBOOK: readonly PlaybookStep[] = [revokeCredentialsStep, blockDomainsStep, blockIpsStep, huntStep, revokeSessionsStep, forceReenrollmentStep, warnEveryoneStep, exportStixStep];
export type { PlaybookStep } from './playbook-step.js';
