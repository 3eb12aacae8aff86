import { portalUrlOf, type GatehouseCore } from '../core.js';
import { createServiceTokens, parseCampaignScope, serviceTokenSettingsOf, type ServiceTokens, type TokenUseAnomalies } from '../credentials/index.js';
import { tooWideToBlock } from '../access/index.js';
import { domainBlocksOf, type DomainBlocks } from '../dns/index.js';
import { GatehouseError, InputError, isGatehouseError } from '../lib/errors.js';
import { claimAlert, linkAlertToIncident, releaseAlert } from './alerts/alert-claims.js';
import { watchAdminGroups, type AdminAddition } from './alerts/admin-group-watcher.js';
import { createFirstStartAdminExpectation, firstStartAdminNotice } from './alerts/first-start-admin.js';
import { watchKeyChanges, type KeyChange } from './alerts/key-change-watcher.js';
import { LookalikeAlertGate, lookalikeFinding, type LookalikeFinding, type LookalikeQuery } from './alerts/lookalike-alerts.js';
import { raiseTokenAnomalyAlerts } from './alerts/token-anomaly-alerts.js';
import { parseDuration } from './duration.js';
import type { HuntResult } from './hunts/hunt-result.js';
import { runHunt } from './hunts/run-hunt.js';
import { tokenNamed } from './hunts/token-use.js';
import { incidentCredentialsOf, type IncidentCredentials } from './incident-credentials.js';
import { blocksOfIncident, keptBlocks, liftBlocksOfIncident, type ClosedIncidentBlocks } from './incident-blocks.js';
import { IncidentRepository } from './incident-repository.js';
import { eventsOf } from './incident-events.js';
import type { DeclareInput, IncidentCampaign, IncidentRecord, IncidentTimelineSource, IncidentView, TimelineEntry } from './incident-types.js';
import { parseIndicators } from './indicators.js';
import { createItemDeliverer } from './notify/deliver-item.js';
import { createEmailSender, type EmailSender } from './notify/email-sender.js';
import { keyChangeAlertText, keyChangeEmail } from './notify/key-change-notice.js';
import { Outbox } from './notify/outbox.js';
import { defang } from './notify/warning-message.js';
import { createWebhookSender, type WebhookMessage, type WebhookSender } from './notify/webhook-sender.js';
import { planIncident, type IncidentPlan } from './plan-incident.js';
import { huntContextOf, type IncidentLogger, type IpBlocker, type PlaybookDeps, type PlaybookHooks } from './playbook-context.js';
import { localPlaybookRunner, type PlaybookRunner } from './playbook-runner.js';
import { runPlaybook, type PlaybookRun } from './run-playbook.js';

export interface IncidentResponseOptions {
  core: Pick<GatehouseCore, 'store' | 'audit' | 'identity' | 'clock' | 'random' | 'snapshot'>;
  /** The live instance's block list (applied at once here, on the others through the feed). */
  ipBlocks: IpBlocker;
  domainBlocks?: DomainBlocks;
  logger?: IncidentLogger;
  hooks?: PlaybookHooks;
  /** This process as the playbook lease names it (default: this host and pid). */
  runner?: PlaybookRunner;
  /** The running instance's service tokens (a revocation reaches its verifier at once); default: one over the core's store. */
  serviceTokens?: ServiceTokens;
  /** Default: built from the core (and `serviceTokens`). */
  credentials?: IncidentCredentials;
  /** Other capabilities' events on an incident's timeline (the takedown of a reported lure). */
  timelineSources?: readonly IncidentTimelineSource[];
}

export interface IncidentResponse {
  declare(input: DeclareInput, options: { actor: string; dryRun?: boolean }): Promise<{ incident: IncidentView; run: PlaybookRun } | IncidentPlan>;
  resume(id: string, options: { actor: string; takeover?: boolean }): Promise<{ incident: IncidentView; run: PlaybookRun }>;
  list(filter?: { status?: 'open' | 'closed' }): Promise<IncidentRecord[]>;
  show(id: string): Promise<IncidentView>;
  /** The incident and its step rows only (no users, outbox nor STIX): cheap enough to poll for a live view. */
  timeline(id: string): Promise<{ incident: IncidentRecord; timeline: TimelineEntry[] }>;
  /**
   * Closes an incident. Its domain and IP blocks (and strict new-domain isolation, if it turned that on)
   * stay in force unless `liftBlocks`; the result's `blocks` says which.
   */
  close(id: string, options: { actor: string; note?: string; liftBlocks?: boolean }): Promise<IncidentView & { blocks: ClosedIncidentBlocks }>;
  hunt(name: string, params: unknown): Promise<HuntResult>;
  /** For the DNS gateway's query hook: never throws, never waits on the database. */
  onLookalikeQuery(query: LookalikeQuery): void;
  /**
   * For the service tokens' `onAnomalies` (called when recorded use is written, never on the request
   * path): alerts, and suspends the token where `service_tokens.anomalies.suspend_on` says. Never throws.
   */
  onTokenAnomalies(found: readonly TokenUseAnomalies[]): Promise<void>;
  /**
   * The first start is about to invite `email` into admin group `group`: that one addition gets a calm
   * notice instead of the new-admin alert (threat model in alerts/first-start-admin.ts).
   */
  expectFirstStartAdmin(email: string, group: string): void;
  /** Starts the admin-group and key-change watchers (server only). */
  startWatchers(): () => Promise<void>;
  /** Closes the SMTP pool. */
  dispose(): Promise<void>;
}

const silent: IncidentLogger = { info: () => {}, warn: () => {}, error: () => {} };
const TITLE = /^[^\u0000-\u001f\u007f]{1,200}$/;

/** The incident capability: declaration, the playbook, hunts and alerts, for the CLI and the admin API. */
export function createIncidentResponse(options: IncidentResponseOptions): IncidentResponse {
  const { core } = options;
  const logger = options.logger ?? silent;
  const repository = new IncidentRepository(core.store.db, core.clock);
  const outbox = new Outbox(core.store.db, core.clock);
  const domainBlocks = options.domainBlocks ?? domainBlocksOf(core);
  const settings = () => {
    const { config } = core.snapshot();
    return { incident: config.incident, adminGroups: config.identity.admin_groups, organisation: config.portal.organisation, portalUrl: portalUrlOf(config) };
  };

  // Senders follow the config snapshot (hot reload): rebuilt when their settings change.
  let email: { signature: string; sender: EmailSender } | undefined;
  let webhook: { signature: string; sender: WebhookSender } | undefined;
  const senders = () => {
    const { incident } = settings();
    const smtpSignature = JSON.stringify(incident.smtp ?? null);
    if (email?.signature !== smtpSignature) {
      email?.sender.close();
      email = incident.smtp ? { signature: smtpSignature, sender: createEmailSender(incident.smtp) } : undefined;
    }
    const hookSignature = `${incident.webhook_url ?? ''} ${incident.webhook_timeout_ms}`;
    if (webhook?.signature !== hookSignature) webhook = incident.webhook_url ? { signature: hookSignature, sender: createWebhookSender(incident.webhook_url, incident.webhook_timeout_ms) } : undefined;
    return { email: email?.sender, webhook: webhook?.sender };
  };

  const deps: PlaybookDeps = {
    store: core.store,
    audit: core.audit,
    identity: core.identity,
    clock: core.clock,
    random: core.random,
    ipBlocks: options.ipBlocks,
    domainBlocks,
    credentials: options.credentials ?? incidentCredentialsOf(core, options.serviceTokens),
    repository,
    outbox,
    settings,
    senders,
    logger,
    hooks: options.hooks ?? {},
    runner: options.runner ?? localPlaybookRunner(),
    deliver: async () => {},
  };
  deps.deliver = createItemDeliverer(deps, async (incidentId) => {
    const incident = await repository.get(incidentId);
    const { organisation, portalUrl } = settings();
    return { incidentId, title: incident.title, organisation, portalUrl, indicators: incident.indicators };
  });

  const show = async (id: string): Promise<IncidentView> => {
    const record = await repository.get(id);
    const [steps, users, counts, stix] = await Promise.all([repository.steps(id), repository.users(id), outbox.counts(id), repository.stix(id)]);
    const started = steps.get('revoke_credentials')?.result?.campaign as IncidentCampaign | undefined;
    return { ...record, timeline: [...steps.values()], events: await eventsOf(record, options.timelineSources ?? []), campaign: started, users, outbox: counts, stix };
  };

  /** Every named token and inventory credential must exist before anything is written; inventory names become ids. */
  const checkCredentials = async (indicators: IncidentRecord['indicators']): Promise<void> => {
    for (const name of indicators.tokens) await tokenNamed(deps.credentials.tokens, name, 'incident_unknown_token');
    const ids: string[] = [];
    for (const reference of indicators.credentials) {
      const item = await deps.credentials.findInventoryItem(reference);
      if (!item) throw new InputError(`--credential ${JSON.stringify(reference.slice(0, 80))}: no credential in the inventory has this id or name (gatehouse inventory list)`, 'incident_unknown_credential');
      ids.push(item.id);
    }
    indicators.credentials = [...new Set(ids)];
  };

  const campaignOf = (input: DeclareInput, indicators: IncidentRecord['indicators']): IncidentRecord['options']['campaign'] => {
    if (input.campaign !== true) {
      if (input.campaignScope !== undefined) throw new InputError('a campaign scope needs --campaign', 'incident_invalid_campaign');
      return undefined;
    }
    let scope;
    try {
      scope = parseCampaignScope(input.campaignScope);
    } catch (error) {
      throw new InputError(`--campaign: ${isGatehouseError(error) ? error.publicMessage : String(error)}`, 'incident_invalid_campaign');
    }
    if (scope.token || scope.credential) throw new InputError('--campaign: name tokens and credentials with --token and --credential, not in the scope', 'incident_invalid_campaign');
    // A campaign with neither names nor filters would rotate every credential there is: say so explicitly.
    if (indicators.tokens.length + indicators.credentials.length === 0 && Object.keys(scope).length === 0) {
      throw new InputError('--campaign needs --token or --credential, or a scope (--campaign system=github) for what to rotate', 'incident_invalid_campaign');
    }
    return { scope };
  };

  const buildRecord = async (input: DeclareInput, actor: string): Promise<IncidentRecord> => {
    const title = typeof input.title === 'string' ? input.title.trim() : '';
    if (!TITLE.test(title)) throw new InputError('--title is required: 1 to 200 characters, no control characters', 'incident_invalid_title');
    const indicators = parseIndicators(input);
    // Checked before anything is written, dry run included: an incident that blocked the portal's own
    // host or a protected domain (a typo, or an indicator list from outside) would lock out every person
    // and the admins who would lift it. DomainBlocks refuses it too; here the error names the indicator.
    for (const domain of indicators.domains) {
      const covers = domainBlocks.keptNameCoveredBy(domain);
      if (covers !== undefined) throw new InputError(`--domain ${domain} is the portal's own, a protected or a never-block domain (or covers ${covers}): an incident cannot block it`, 'incident_domain_never_blocked');
    }
    for (const cidr of indicators.ips) {
      if (tooWideToBlock(cidr)) throw new InputError(`--ip ${cidr} is wider than an IPv4 /8 or an IPv6 /16: it would refuse almost everyone; give the attacker's addresses or narrower ranges`, 'incident_ip_too_wide');
    }
    for (const email of indicators.users) await core.identity.users.require(email);
    await checkCredentials(indicators);
    const campaign = campaignOf(input, indicators);
    const { incident } = settings();
    return {
      id: `inc-${core.random.uuid()}`,
      title,
      status: 'open',
      runState: 'pending',
      indicators,
      options: {
        allSessions: input.allSessions === true,
        huntWindowMs: input.since ? parseDuration(input.since) : incident.hunt_window_hours * 3_600_000,
        strictNewDomains: incident.strict_new_domains_on_incident,
        ...(campaign ? { campaign } : {}),
      },
      declaredAt: core.clock.now(),
      declaredBy: actor,
      closedAt: undefined,
      closedBy: undefined,
      closeNote: undefined,
    };
  };

  const declare: IncidentResponse['declare'] = async (input, { actor, dryRun }) => {
    const record = await buildRecord(input, actor);
    if (dryRun) return planIncident(deps, record);
    await core.store.db.transaction().execute(async (trx) => {
      await repository.create(record, trx);
      await core.audit.record({ type: 'incident.declared', outcome: 'success', actor, detail: { incident: record.id, title: record.title, indicators: record.indicators, options: record.options } }, trx);
    });
    const run = await runPlaybook(deps, record.id);
    return { incident: await show(record.id), run };
  };

  const alert = async (message: WebhookMessage, key: string) => {
    const { webhook: send } = senders();
    if (!send) {
      logger.warn({ alert: message.text }, 'alert raised but no incident.webhook_url is configured');
      return;
    }
    await send(message, { idempotencyKey: key });
  };

  // Without the running instance's tokens (the CLI), a suspension still reaches every verifier by the feed.
  let anomalyTokens: ServiceTokens | undefined;
  const gate = new LookalikeAlertGate(core.clock);
  const raiseLookalikeAlert = async (finding: LookalikeFinding) => {
    const { incident } = settings();
    const key = `lookalike:${finding.domain}`;
    if (!(await claimAlert(core.store.db, core.clock, key, incident.alert_cooldown_minutes * 60_000))) return;
    await core.audit.record({ type: 'incident.alert', outcome: 'info', code: 'lookalike_query', ip: finding.client, detail: { ...finding } });
    let declared: string | undefined;
    if (incident.auto_declare_on_lookalike && (await claimAlert(core.store.db, core.clock, 'auto-declare:lookalike', incident.alert_cooldown_minutes * 60_000))) {
      const users = finding.user?.includes('@') ? [finding.user] : [];
      const result = await declare({ title: `Lookalike of ${finding.brand ?? 'a protected brand'} queried: ${finding.domain}`, domains: [finding.domain], users }, { actor: 'system:lookalike-alert' });
      if ('incident' in result) {
        declared = result.incident.id;
        await linkAlertToIncident(core.store.db, key, declared);
      }
    }
    await alert(
      {
        text: `:warning: DNS query for a lookalike of ${finding.brand ?? 'a protected brand'}: ${defang(finding.name)} from ${finding.client}${finding.user ? ` (${finding.user})` : ''}, answered ${finding.action}.${declared ? ` Incident ${declared} declared automatically.` : ''}`,
      },
      key,
    );
  };

  const firstStart = createFirstStartAdminExpectation(core.clock);
  const raiseAdminAlert = async (addition: AdminAddition) => {
    if (firstStart.take(addition)) {
      await core.audit.record({ type: 'incident.alert', outcome: 'info', code: 'admin_first_start', userId: addition.userId, detail: { group: addition.group } });
      const text = firstStartAdminNotice(addition);
      if (senders().webhook) await alert({ text }, `admin-added:${addition.userId}:${addition.group}:${addition.addedAt}`);
      else logger.info({ notice: text }, 'first administrator created at first start');
      return;
    }
    await core.audit.record({ type: 'incident.alert', outcome: 'info', code: 'admin_group_added', userId: addition.userId, detail: { group: addition.group, actor: addition.actor ?? null } });
    await alert({ text: `:warning: ${addition.email} was added to the admin group "${addition.group}"${addition.actor ? ` by ${addition.actor}` : ''} at ${new Date(addition.addedAt).toISOString()}. If nobody expected this, declare an incident.` }, `admin-added:${addition.userId}:${addition.group}:${addition.addedAt}`);
  };

  /**
   * Runs `deliver` at most once per key across instances and retries: the claim is taken first and given
   * back when the delivery fails, so a failed channel is tried again and a delivered one never is.
   */
  const once = async (key: string, deliver: () => Promise<void>) => {
    if (!(await claimAlert(core.store.db, core.clock, key, Number.MAX_SAFE_INTEGER / 2))) return;
    try {
      await deliver();
    } catch (error) {
      await releaseAlert(core.store.db, key);
      throw error;
    }
  };

  const raiseKeyChangeNotice = async (change: KeyChange) => {
    const key = `key-change:${change.seq}`;
    await once(`${key}:audit`, () =>
      core.audit
        .record({
          type: 'incident.alert',
          outcome: 'info',
          code: 'key_change',
          userId: change.userId,
          ip: change.ip,
          detail: { event: change.seq, kind: change.kind, credential: change.credential ?? null, model: change.model ?? null, userAgent: change.userAgent ?? null, actor: change.actor ?? null },
        })
        .then(() => undefined),
    );
    // Each channel on its own: a webhook that is down does not make the owner's email go out again.
    const failures: unknown[] = [];
    await once(`${key}:email`, async () => {
      const { email: mail } = senders();
      if (!mail) return logger.warn({ user: change.email, kind: change.kind }, 'key change not emailed to its owner: no incident.smtp is configured');
      const { organisation, portalUrl } = settings();
      await mail.send({ to: change.email, ...keyChangeEmail(change, { organisation, portalUrl }) }, { idempotencyKey: `${key}:email` });
    }).catch((error: unknown) => failures.push(error));
    await once(`${key}:webhook`, () => alert({ text: keyChangeAlertText(change) }, `${key}:webhook`)).catch((error: unknown) => failures.push(error));
    if (failures.length > 0) throw failures[0];
  };

  return {
    declare,
    async resume(id: string, { actor, takeover }: { actor: string; takeover?: boolean }) {
      const record = await repository.get(id);
      if (record.status === 'closed') throw new GatehouseError('incident_closed', { status: 409, publicMessage: `Incident ${id} is closed.` });
      await core.audit.record({ type: 'incident.resumed', outcome: 'success', actor, detail: { incident: id, takeover: Boolean(takeover) } });
      const run = await runPlaybook(deps, id, { takeover: takeover ?? false });
      return { incident: await show(id), run };
    },
    list: (filter?: { status?: 'open' | 'closed' }) => repository.list(filter),
    show,
    async timeline(id: string) {
      const [incident, steps] = await Promise.all([repository.get(id), repository.steps(id)]);
      return { incident, timeline: [...steps.values()] };
    },
    async close(id: string, { actor, note, liftBlocks }: { actor: string; note?: string; liftBlocks?: boolean }) {
      const record = await repository.get(id);
      const found = await blocksOfIncident(deps, id);
      // An incident already closed may still have its blocks lifted: the close that kept them said how.
      const closed = record.status === 'closed' && liftBlocks ? true : await core.store.db.transaction().execute(async (trx) => {
        const changed = await repository.close(id, { actor, ...(note ? { note } : {}) }, trx);
        const detail = { incident: id, note: note ?? null, liftBlocks: liftBlocks === true, domains: found.domains, ips: found.ips };
        if (changed) await core.audit.record({ type: 'incident.closed', outcome: 'success', actor, detail }, trx);
        return changed;
      });
      if (!closed) throw new GatehouseError('incident_closed', { status: 409, publicMessage: `Incident ${id} is already closed.` });
      // Closed first: a lift that fails half-way leaves a closed incident whose blocks `dns lists` still shows.
      const blocks = liftBlocks
        ? await liftBlocksOfIncident(deps, found, { actor, otherOpenIncidents: (await repository.list({ status: 'open' })).length })
        : keptBlocks(found);
      if (blocks.lifted) {
        const detail = { incident: id, domains: blocks.domains, ips: blocks.ips, strictNewDomainsOff: blocks.strictNewDomains.switchedOff };
        await core.audit.record({ type: 'incident.blocks_lifted', outcome: 'success', actor, detail });
      }
      return { ...(await show(id)), blocks };
    },
    hunt: (name: string, params: unknown) => runHunt(huntContextOf(deps), name, params, settings().incident.hunt_window_hours * 3_600_000),
    onLookalikeQuery(query: LookalikeQuery) {
      try {
        const finding = lookalikeFinding(query);
        if (!finding || !gate.admit(finding.domain, settings().incident.alert_cooldown_minutes * 60_000)) return;
        void raiseLookalikeAlert(finding).catch((error: unknown) => logger.error({ err: String(error), domain: finding.domain }, 'lookalike alert failed'));
      } catch (error) {
        logger.error({ err: String(error) }, 'lookalike alert failed');
      }
    },
    onTokenAnomalies: (found) =>
      raiseTokenAnomalyAlerts(
        {
          db: core.store.db,
          clock: core.clock,
          audit: core.audit,
          settings: () => {
            const { suspend_on, email_owner } = core.snapshot().config.service_tokens.anomalies;
            return { suspendOn: suspend_on, emailOwner: email_owner, organisation: settings().organisation };
          },
          senders,
          logger,
          tokens: options.serviceTokens ?? (anomalyTokens ??= createServiceTokens({ ...core, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) })),
        },
        found,
      ),
    expectFirstStartAdmin: (email, group) => firstStart.expect(email, group),
    startWatchers() {
      const watcher = watchAdminGroups({
        db: core.store.db,
        clock: core.clock,
        intervalMs: settings().incident.admin_watch_interval_ms,
        adminGroups: () => settings().adminGroups,
        onAddition: raiseAdminAlert,
        onError: (error) => logger.warn({ err: String(error) }, 'admin-group watch failed; retrying'),
      });
      const keys = watchKeyChanges({
        db: core.store.db,
        clock: core.clock,
        intervalMs: settings().incident.admin_watch_interval_ms,
        lookBackMs: 24 * 3_600_000,
        onChange: raiseKeyChangeNotice,
        onError: (error) => logger.warn({ err: String(error) }, 'key-change notice failed; retrying'),
      });
      return async () => {
        await watcher.stop();
        await keys.stop();
      };
    },
    async dispose() {
      email?.sender.close();
      email = undefined;
    },
  };
}
