import type { AuditLog } from '../audit/index.js';
import type { ServiceTokens } from '../credentials/index.js';
import type { GatehouseConfig } from '../config/index.js';
import { createEmailSender, type EmailSender } from '../incident/index.js';
import { buildDomainIntel, type DomainIntel, type PublicOnlyAgentOptions } from '../intel/index.js';
import type { Clock } from '../lib/clock.js';
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';
import { RateLimiter } from '../lib/rate-limiter.js';
import type { Random } from '../lib/random.js';
import type { Registry } from 'prom-client';
import type { Store } from '../store/index.js';
import { createReports, type DomainBlocker, type Reports } from './create-reports.js';
import { deliverReportMessages } from './deliver-report-messages.js';
import { createReportMeasurer, registerReportMetrics, type ReportMeasures } from './report-measures.js';
import { IntakeIdempotencyKeys } from './intake-idempotency-keys.js';
import { startReportIntake, type ReportIntake } from './smtp-intake.js';
import { createWebhookIntake, type WebhookIntake } from './webhook-intake.js';

export interface ReportsLayer {
  reports: Reports;
  /** The SMTP intake, when `reports.intake` is set. */
  intake: ReportIntake | undefined;
  /** The gateway webhook's logic (served by the portal when `reports.webhook` is set). */
  webhook: WebhookIntake;
  /** Reports per week, time from first report to block, share reported before any click (`/metrics` and the console). */
  measures(): Promise<ReportMeasures>;
  /** A new `dns` section rebuilds the verdicts reports use; the rest of `reports:` is read per report. */
  reload(next: GatehouseConfig): void;
  close(): Promise<void>;
}

export interface ReportsLogger {
  warn(object: object, message?: string): void;
}

/**
 * Reports for the composition root: the same domain verdicts as the gateway (lookalike and age, caches
 * shared through the store), the runtime blocks, the SMTP intake when configured, and delivery of
 * thank-you notes and responder alerts through `incident.smtp` every `deliverEveryMs`.
 */
export async function buildReports(options: {
  config: () => GatehouseConfig;
  store: Store;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  domainBlocks: DomainBlocker;
  isKnownUser: (email: string) => Promise<boolean>;
  /** The service-token verifier the webhook authenticates with. */
  tokens: Pick<ServiceTokens, 'verify' | 'recordUse'>;
  logger: ReportsLogger;
  rdapConnection?: PublicOnlyAgentOptions;
  deliverEveryMs?: number;
  /** `/metrics`: time to block, reports per week, share reported before any click. */
  registry?: Registry;
}): Promise<ReportsLayer> {
  const intelOf = (config: GatehouseConfig): DomainIntel =>
    buildDomainIntel({ dns: config.dns, store: options.store, clock: options.clock, logger: options.logger, ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}) });
  let intel = intelOf(options.config());
  const reports = createReports({
    db: options.store.db,
    audit: options.audit,
    clock: options.clock,
    random: options.random,
    verdicts: { classify: (name) => intel.classifier.classify(name) },
    domainBlocks: options.domainBlocks,
    settings: () => {
      const config = options.config();
      return { reports: config.reports, organisation: config.portal.organisation, protectedDomains: [...(config.dns.protect?.domains ?? []), config.server.portal_host] };
    },
  });
  const measures = createReportMeasurer(options.store.db, () => options.clock.now());
  if (options.registry) registerReportMetrics(options.registry, measures);
  const initial = options.config();
  const intake = initial.reports.intake
    ? await startReportIntake({
        host: initial.reports.intake.host,
        port: initial.reports.intake.port,
        domain: initial.reports.intake.domain,
        maxBytes: initial.reports.max_body_bytes,
        sender: { trustSender: initial.reports.intake.trust_sender, isTrustedRelay: compileIpMatcher(initial.reports.intake.trusted_relays), isKnownUser: options.isKnownUser },
        allowAnonymous: () => options.config().reports.allow_anonymous,
        reports,
        audit: options.audit,
        logger: options.logger,
      })
    : undefined;
  const webhook = createWebhookIntake({
    reports,
    tokens: options.tokens,
    isKnownUser: options.isKnownUser,
    audit: options.audit,
    clock: options.clock,
    hourly: new RateLimiter(options.clock, 3_600_000),
    keys: new IntakeIdempotencyKeys(options.store.db),
    refusalAudit: new RateLimiter(options.clock, 60_000),
    settings: () => options.config().reports,
  });
  let sender: EmailSender | undefined = initial.incident.smtp ? createEmailSender(initial.incident.smtp) : undefined;
  let delivering = false;
  const timer = setInterval(() => {
    if (!sender || delivering) return;
    delivering = true;
    deliverReportMessages(reports.repository, sender, options.clock)
      .catch((error: unknown) => options.logger.warn({ err: error }, 'report messages delivery failed; retrying'))
      .finally(() => (delivering = false));
  }, options.deliverEveryMs ?? 15_000);
  timer.unref();
  return {
    reports,
    intake,
    webhook,
    measures,
    reload(next) {
      const previous = intel;
      intel = intelOf(next);
      void previous.stop();
      sender?.close();
      sender = next.incident.smtp ? createEmailSender(next.incident.smtp) : undefined;
    },
    async close() {
      clearInterval(timer);
      await intake?.close();
      sender?.close();
      await intel.stop();
    },
  };
}
