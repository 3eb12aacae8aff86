/** Public surface of incident response: the playbook, hunts and alerts. */
export { createIncidentResponse, type IncidentResponse, type IncidentResponseOptions } from './incident-response.js';
export type { ClosedIncidentBlocks } from './incident-blocks.js';
export type { DeclareInput, IncidentCampaign, IncidentEvent, IncidentRecord, IncidentTimelineSource, IncidentView, IncidentOptions, TimelineEntry, ContainedUser, StepName } from './incident-types.js';
export { incidentCredentialsOf, type IncidentCredentials } from './incident-credentials.js';
export { STEP_NAMES } from './incident-types.js';
export type { IncidentPlan } from './plan-incident.js';
export type { PlaybookRun } from './run-playbook.js';
export type { IpBlocker, IncidentLogger, PlaybookHooks } from './playbook-context.js';
export type { LookalikeQuery } from './alerts/lookalike-alerts.js';
export { HUNT_NAMES, type HuntName, type HuntResult, type HuntUser, type HuntSession, type HuntEvidence, type TokenUse } from './hunts/hunt-result.js';
export { huntParamSchemas } from './hunts/run-hunt.js';
export { parseDuration } from './duration.js';
export { timelineText } from './timeline-text.js';
export { timelineEvents, type TimelineEvent } from './timeline-events.js';
export { buildStixBundle, type StixBundle } from './stix/stix-bundle.js';
export type { Indicators } from './indicators.js';
export { createEmailSender, type EmailSender, type EmailMessage } from './notify/email-sender.js';
