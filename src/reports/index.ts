/** Report something suspicious: intake, triage with the gateway's verdicts, grouping, escalation. */
export { createReports, REPORT_ERRORS, type DomainBlocker, type ReportInput, type ReportOutcome, type Reports, type ReportsOptions } from './create-reports.js';
export { extractIndicators, refang, type ExtractedIndicator } from './extract-indicators.js';
export type { ReportGroup, StoredReport } from './report-repository.js';
export type { TriagedIndicator, VerdictSource } from './report-triage.js';
export { deliverReportMessages, type ReportMailer } from './deliver-report-messages.js';
export { buildReports, type ReportsLayer } from './build-reports.js';
export { startReportIntake, type ReportIntake } from './smtp-intake.js';
export { REPORTS_RESTART_ONLY_KEYS } from './reports-restart-only-keys.js';
export { createReportMeasurer, measureReports, type ReportMeasures } from './report-measures.js';
export { abuseContactsOf, lookupAbuseContacts, type AbuseContact } from './abuse-contacts.js';
export { createWebhookIntake, WEBHOOK_INTAKE_ERRORS, type WebhookIntake, type WebhookIntakeOptions, type WebhookPresentation } from './webhook-intake.js';
export { lookupHostAbuseContacts, type HostAbuseLookup } from './host-abuse-contacts.js';
export { parseIpRdapBootstrap, shippedIpRdapBootstrap, type IpRdapBootstrap } from './ip-rdap-bootstrap.js';
export { createLureResolver, type ResolveLureAddresses } from './resolve-lure-addresses.js';
export { abuseReportTimeline } from './abuse-report-timeline.js';
