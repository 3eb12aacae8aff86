import type { AuditLog } from '../audit/index.js';
import type { IncidentConfig } from '../config/index.js';
import type { DomainBlocks } from '../dns/index.js';
import type { IdentityService } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { Store } from '../store/index.js';
import type { HuntContext } from './hunts/hunt-result.js';
import type { IncidentCredentials } from './incident-credentials.js';
import type { IncidentRepository } from './incident-repository.js';
import type { IncidentRecord } from './incident-types.js';
import type { EmailSender } from './notify/email-sender.js';
import type { Deliver, Outbox } from './notify/outbox.js';
import type { WarningContext } from './notify/warning-message.js';
import type { WebhookSender } from './notify/webhook-sender.js';
import type { PlaybookRunner } from './playbook-runner.js';

/** Blocks an address or range at every app and the portal, on every instance (access/ip-blocks.ts). */
export interface IpBlocker {
  block(cidr: string, input: { reason: string; actor: string }): Promise<void>;
  unblock(cidr: string, actor: string): Promise<boolean>;
  list(): { cidr: string; reason: string }[];
}

export interface IncidentLogger {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

/** Test seams: observe progress (a crash test kills the process from one of these). */
export interface PlaybookHooks {
  afterStep?(step: string): void | Promise<void>;
  onDelivered?(key: string): void;
}

/** Everything the playbook reaches: explicit, built in the composition root or the CLI. */
export interface PlaybookDeps {
  store: Store;
  audit: AuditLog;
  identity: IdentityService;
  clock: Clock;
  random: Random;
  ipBlocks: IpBlocker;
  domainBlocks: DomainBlocks;
  /** Service tokens, the inventory and campaigns (the revoke_credentials step and the token-use hunt). */
  credentials: IncidentCredentials;
  repository: IncidentRepository;
  outbox: Outbox;
  settings: () => { incident: IncidentConfig; adminGroups: readonly string[]; organisation: string; portalUrl: string };
  senders: () => { webhook: WebhookSender | undefined; email: EmailSender | undefined };
  /** Sends one outbox item through the configured channel. */
  deliver: Deliver;
  logger: IncidentLogger;
  hooks: PlaybookHooks;
  /** This process, as named in the playbook lease. */
  runner: PlaybookRunner;
}

/** What one step gets: the incident, who acts, and the dependencies. */
export interface StepContext {
  deps: PlaybookDeps;
  incident: IncidentRecord;
  /** Recorded as the actor of every effect: `incident:<id>`. */
  actor: string;
  /** Recorded as the reason of every block and revocation. */
  reason: string;
}

export function huntContextOf(deps: PlaybookDeps): HuntContext {
  return { db: deps.store.db, clock: deps.clock, adminGroups: deps.settings().adminGroups, tokens: deps.credentials.tokens };
}

export function warningContextOf(ctx: StepContext): WarningContext {
  const { organisation, portalUrl } = ctx.deps.settings();
  return { incidentId: ctx.incident.id, title: ctx.incident.title, organisation, portalUrl, indicators: ctx.incident.indicators };
}
