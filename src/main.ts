import type { FastifyRequest } from 'fastify';
import type http from 'node:http';
import type pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { answerJwksOnAnyHost, buildAccess, type AccessLayer } from './access/index.js';
import { refuseBlockedClients, requireAdmin } from './admin/index.js';
import { registerAdminSurfaces } from './admin-surfaces.js';
import { buildDns, keptDomainsOf, type DnsLayer, type LookalikeSighting } from './dns/index.js';
import { buildDomainIntel, type PublicOnlyAgentOptions } from './intel/index.js';
import { watchConfig, type ConfigSnapshot, type ConfigWatcher } from './config/index.js';
import { createCampaigns, createServiceTokens, serviceTokenSettingsOf, type OnUseAnomalies, type ServiceTokens } from './credentials/index.js';
import { openCore, portalUrlOf, type GatehouseCore } from './core.js';
import { createIncidentResponse, type IncidentResponse } from './incident/index.js';
import type { PasswordHashing } from './identity/index.js';
import type { Clock } from './lib/clock.js';
import { systemClock } from './lib/clock.js';
import { cryptoRandom, type Random } from './lib/random.js';
import { GatehouseError } from './lib/errors.js';
import { keepFreedHeap } from './lib/keep-freed-heap.js';
import { restartOnlyChanges } from './lib/restart-only-changes.js';
import { RESTART_ONLY_KEYS } from './restart-only-keys.js';
import { RateLimiter } from './lib/rate-limiter.js';
import { abuseReportTimeline, buildReports, type ReportsLayer } from './reports/index.js';
import { requireKeyEncryptionKey } from './secrets/index.js';
import type { TcpTunnels } from './access/tunnel/index.js';
import { buildCommandLineAccess } from './command-line-access.js';
import { createPortalMetrics, portalSessionCookieNameOf, registerPortal, type PortalSettings } from './portal/index.js';
import {
  buildHttpApp,
  createLogger,
  handleUnknownHost,
  HTTPS_REDIRECT_OFF_BEHIND_PROXY,
  httpsRedirectPlan,
  registerDoh,
  startListeners,
  startMetricsListener,
  type HostRouter,
  type HttpsRedirectOptions,
  type Listeners,
} from './server/index.js';
import { pruneChangeFeed, tailChangeFeed, type ChangeFeedTail } from './store/index.js';

export interface StartOptions {
  snapshot: ConfigSnapshot;
  clock?: Clock;
  random?: Random;
  /** Where logs go (tests pass a sink); default stdout. */
  logDestination?: pino.DestinationStream;
  /** Watch the config file and SIGHUP (serve does; tests may not). */
  watch?: boolean;
  /** Tests only: lets RDAP reach a fixture on 127.0.0.1. `serve` never sets it (SSRF guard). */
  rdapConnection?: PublicOnlyAgentOptions;
  /** Tests only: a cheaper argon2id cost for legacy passwords. `serve` always uses OWASP's. */
  passwordHashing?: PasswordHashing;
}

export interface RunningGatehouse {
  core: GatehouseCore;
  portalUrl: string;
  httpPort: number | undefined;
  httpsPort: number | undefined;
  /** Port of the Prometheus listener (`server.metrics`), undefined when metrics are not served. */
  metricsPort: number | undefined;
  registry: Registry;
  feed: ChangeFeedTail;
  config: ConfigWatcher | undefined;
  access: AccessLayer;
  /** `gatehouse tunnel`'s live TCP tunnels on this instance. */
  tcpTunnels: TcpTunnels;
  /** Machine credentials: verified by the access gateway, kept current by the change feed. */
  serviceTokens: ServiceTokens;
  dns: DnsLayer;
  /** Incident response with its watchers running (the first start tells it about the admin it creates). */
  incidents: IncidentResponse;
  /** Report something suspicious: the triage, the SMTP intake when configured. */
  reports: ReportsLayer;
  /** For tests: requests in-process without a socket. */
  inject: import('fastify').FastifyInstance['inject'];
  /** For tests that walk every route (refusal suites): fastify's route tree, full paths. */
  routeTree(): string;
  close(): Promise<void>;
}

/** A capability's reload failure, named after the config section it could not apply. */
async function reloadCapability(section: string, reload: () => Promise<void>): Promise<void> {
  try {
    await reload();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new GatehouseError('config_reload_failed', { status: 500, publicMessage: 'The configuration could not be applied.', detail: `${section}: ${detail}`, cause: error });
  }
}

/** The composition root (ARCHITECTURE.md): builds every capability, wires them, starts listening. */
export async function startGatehouse(options: StartOptions): Promise<RunningGatehouse> {
  // The proxy and tunnels allocate a Buffer per socket read: keep glibc from trimming the heap at each GC.
  keepFreedHeap();
  const clock = options.clock ?? systemClock;
  const random = options.random ?? cryptoRandom;
  const logger = createLogger(options.snapshot.config.logging.level, options.logDestination);
  const core = await openCore(options.snapshot, { clock, random, ...(options.passwordHashing ? { passwordHashing: options.passwordHashing } : {}) });
  const cleanups: (() => Promise<void> | void)[] = [() => core.close()];
  try {
    // Fail closed: a server holds private keys, and without a KEK they would sit in the database in the clear.
    requireKeyEncryptionKey(core.secrets);
    if (core.sealedAtOpen && core.sealedAtOpen.total > 0) {
      logger.warn({ sealed: core.sealedAtOpen.sealed, keyEncryptionKey: core.secrets.source }, 'sealed plaintext private keys in the database under the key-encryption key (recorded in the audit log)');
    }
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const metrics = createPortalMetrics(registry, () => core.identity.sessions.countActive());

    const portalSettings = (): PortalSettings => {
      const { config } = core.snapshot();
      const publicUrl = portalUrlOf(config);
      return {
        organisation: config.portal.organisation,
        publicUrl,
        allowedOrigins: [...new Set([new URL(publicUrl).origin, ...config.webauthn.origins])],
        cookieName: portalSessionCookieNameOf(config.sessions.cookie_name, publicUrl.startsWith('https:')),
        absoluteMs: config.sessions.absolute_timeout_hours * 3_600_000,
        legacyPassword: config.identity.legacy.password,
        signInRatePerMinute: config.portal.sign_in_rate_per_minute,
        certificateRequestsPerMinute: config.ssh.certificate_requests_per_minute,
      };
    };

    // Service tokens: the verifier's snapshot is read before the gateway serves anything, the feed keeps
    // it current, and the last-use writer flushes what it holds when the process stops (pushed here, so
    // it runs after the listeners have closed and before the store does).
    const tokenAnomalies: { notify?: OnUseAnomalies } = {};
    const serviceTokens = createServiceTokens({
      store: core.store,
      clock,
      random,
      audit: core.audit,
      settings: serviceTokenSettingsOf(options.snapshot.config.service_tokens),
      log: logger,
      // Unusual use is found when use is written and raised by incident response (bound below).
      onAnomalies: (found) => tokenAnomalies.notify?.(found),
    });
    await serviceTokens.load();
    serviceTokens.start();
    cleanups.push(() => serviceTokens.stop());

    const access: AccessLayer = await buildAccess({
      config: options.snapshot.config,
      store: core.store,
      sessions: core.identity.sessions,
      audit: core.audit,
      clock,
      random,
      sealer: core.secrets,
      logger,
      registry,
      portalUrlOf,
      serviceTokens,
    });
    cleanups.push(() => access.close());
    // Every fastify surface (portal, admin API, console, DoH, the IP-block refusal) reads the client's
    // address here, from the one forwarded-headers parser: fastify's own `request.ip` is the socket's.
    const clientIp = (request: FastifyRequest) => access.clientAddress(request.raw);
    const router: { current?: HostRouter } = {};
    const httpsRedirect: { current?: HttpsRedirectOptions } = {};
    const { app, handler } = buildHttpApp({
      logger,
      bodyLimit: options.snapshot.config.server.body_limit_bytes,
      isHttps: (req) => access.isHttps(req),
      registry,
      metrics,
      organisation: () => core.snapshot().config.portal.organisation,
      ready: async () => {
        await core.store.db.selectFrom('settings').select('key').limit(1).execute();
      },
      router,
      httpsRedirect,
      hstsIncludeSubdomains: () => core.snapshot().config.server.hsts.include_subdomains,
      now: () => clock.now(),
    });
    // Incident response is built after the DNS layer it blocks names in; the lookalike alert reaches it
    // through this late binding.
    const lookalikeAlert: { notify?: (sighting: LookalikeSighting) => void } = {};
    const dns: DnsLayer = await buildDns({
      onLookalike: (sighting) => lookalikeAlert.notify?.(sighting),
      config: options.snapshot.config.dns,
      baseDir: options.snapshot.baseDir,
      // A factory: a reload that changes dns.protect or dns.age builds the intel again.
      intel: (dnsConfig) =>
        buildDomainIntel({
          dns: dnsConfig,
          store: core.store,
          clock,
          logger,
          ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}),
        }),
      store: core.store,
      audit: core.audit,
      keptDomains: () => keptDomainsOf(core.snapshot().config),
      clock,
      random,
      logger,
      registry,
    });
    cleanups.push(() => dns.stop());
    registerDoh(app, dns, options.snapshot.config.dns, clientIp);

    router.current = (req, res) =>
      access.gateway.handle(req, res) ||
      answerJwksOnAnyHost(req, res, () => access.jwks()) ||
      handleUnknownHost(req, res, {
        portalUrl: () => portalUrlOf(core.snapshot().config),
        organisation: () => core.snapshot().config.portal.organisation,
        // The gateway in force (a reload replaces or removes it); none: the plain unknown-host page.
        explain: (name) => dns.gateway?.explain(name) ?? Promise.reject(new Error('the dns gateway is off')),
      });
    app.get('/.well-known/jwks.json', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(access.jwks()));

    // Incident response: watchers run here; the DNS gateway raises lookalike alerts through it.
    const incidents = createIncidentResponse({ core, ipBlocks: access.ipBlocks, domainBlocks: dns.domainBlocks, logger, serviceTokens, timelineSources: [abuseReportTimeline(core.store.db)] });
    cleanups.push(incidents.startWatchers(), () => incidents.dispose());
    lookalikeAlert.notify = (sighting) => incidents.onLookalikeQuery(sighting);
    tokenAnomalies.notify = (found) => incidents.onTokenAnomalies(found);
    // Runs before the SMTP pool closes: the last write's anomalies are raised, and waited for, first.
    cleanups.push(() => serviceTokens.stop());
    refuseBlockedClients(app, access.ipBlocks.isBlocked, clientIp, () => core.snapshot().config.portal.organisation);

    // `gatehouse login`, SSH certificates and TCP tunnels: the command line's way in, one credential.
    const commandLine = buildCommandLineAccess({ core, access, config: options.snapshot.config, clock, random, logger });
    const tcpTunnels = commandLine.tunnels;
    cleanups.push(() => commandLine.close());
    app.server.on('upgrade', (req, socket, head) => {
      if (tcpTunnels.handleUpgrade(req, socket, head)) return;
      if (!access.gateway.handleUpgrade(req, socket, head)) socket.destroy();
    });

    // Reports block through the same runtime blocks as incidents: a feed row reaches every instance.
    const reports: ReportsLayer = await buildReports({
      config: () => core.snapshot().config,
      store: core.store,
      audit: core.audit,
      clock,
      random,
      domainBlocks: dns.domainBlocks,
      isKnownUser: async (email) => (await core.identity.users.findByEmail(email)) !== undefined,
      tokens: serviceTokens,
      logger,
      registry,
      ...(options.rdapConnection ? { rdapConnection: options.rdapConnection } : {}),
    });
    cleanups.push(() => reports.close());
    // The admin API and the console's pages: one gate, one address rule.
    const adminConsole = registerAdminSurfaces(app, { core, access, dns, incidents, serviceTokens, reports, portalSettings, clock, random });
    cleanups.push(() => adminConsole.close());

    registerPortal(app, {
      cliLogin: { login: commandLine.login, ssh: commandLine.ssh },
      reports: {
        reports: reports.reports,
        audit: core.audit,
        limiter: new RateLimiter(clock, 3_600_000),
        settings: () => {
          const section = core.snapshot().config.reports;
          return { enabled: section.enabled, allowAnonymous: section.allow_anonymous, maxBodyBytes: section.max_body_bytes, perAddressPerHour: section.per_address_per_hour };
        },
      },
      reportIntake: {
        intake: reports.webhook,
        settings: () => {
          const section = core.snapshot().config.reports;
          return { enabled: section.enabled && section.webhook !== undefined, maxBodyBytes: section.max_body_bytes };
        },
      },
      identity: core.identity,
      clock,
      random,
      metrics,
      rateLimiter: new RateLimiter(clock, 60_000),
      settings: portalSettings,
      isAllowedReturnTo: (url) => url.origin === new URL(portalSettings().publicUrl).origin || access.isAppUrl(url),
      handshake: {
        appOrigin: (name) => access.appOrigin(name),
        issueCode: (session, name, binding) => access.appSessions.issueCode(session, name, binding),
      },
      requestContext: (request) => ({
        ip: clientIp(request),
        userAgent: String(request.headers['user-agent'] ?? '').slice(0, 300),
      }),
      // Owner tasks of rotation campaigns: answered and approved here, never rotated here (no rotators).
      campaignTasks: {
        campaigns: createCampaigns({ store: core.store, clock, random, audit: core.audit, tokens: serviceTokens, rotators: new Map() }),
        audit: core.audit,
        requireAdmin: (request, access) =>
          requireAdmin(
            request,
            {
              validate: (token) => core.identity.sessions.validate(token),
              audit: core.audit,
              clientIp,
              clock,
              settings: () => ({ cookieName: portalSettings().cookieName, adminGroups: core.snapshot().config.identity.admin_groups, writeWindowMs: core.snapshot().config.identity.admin_write_window_minutes * 60_000 }),
            },
            access,
          ),
        ownerProofWindowMs: () => core.snapshot().config.identity.key_change_window_minutes * 60_000,
      },
    });
    await app.ready();
    cleanups.push(() => app.close());

    const feed = await tailChangeFeed({
      store: core.store,
      pollMs: options.snapshot.config.database.feed_poll_ms,
      clock,
      onChange: (change) => {
        core.identity.sessions.applyChange(change);
        // After the sessions: a changed admin's live streams are re-checked against the fresh row.
        adminConsole.applyChange(change);
        // Before access: a token's tunnels are closed once its new state is in the verifier.
        serviceTokens.applyChange(change);
        access.applyChange(change);
        tcpTunnels.applyChange(change);
        dns.applyChange(change);
      },
      onError: (error) => logger.warn({ err: error }, 'change feed read failed; retrying'),
    });
    cleanups.push(() => feed.stop());
    cleanups.push(core.identity.sessions.startTouchFlusher());

    const housekeeping = setInterval(() => {
      void core.identity.pruneExpired().catch((error: unknown) => logger.warn({ err: error }, 'identity housekeeping failed; retrying in a minute'));
      void commandLine.login.pruneExpired().catch((error: unknown) => logger.warn({ err: error }, 'command-line sign-in housekeeping failed; retrying in a minute'));
      void pruneChangeFeed(core.store.db, clock.now() - 24 * 3_600_000).catch(() => {});
    }, 60_000);
    housekeeping.unref();
    cleanups.push(() => clearInterval(housekeeping));

    const listeners: Listeners = await startListeners(options.snapshot.config.server, options.snapshot.baseDir, app.server as http.Server, handler);
    cleanups.push(() => listeners.close());
    const redirectPlan = httpsRedirectPlan(listeners, new URL(portalUrlOf(options.snapshot.config)));
    if (redirectPlan) {
      const { httpsPort, behindTlsProxy } = redirectPlan;
      const isServedHost = (host: string, hostname: string) => hostname === core.snapshot().config.server.portal_host.toLowerCase() || access.engine().appForHost(host) !== undefined;
      httpsRedirect.current = { httpsPort, isServedHost, applies: () => !behindTlsProxy || !access.trustedProxies().empty };
      if (behindTlsProxy && access.trustedProxies().empty) logger.warn(HTTPS_REDIRECT_OFF_BEHIND_PROXY);
    }
    const metricsListener = options.snapshot.config.server.metrics && (await startMetricsListener(options.snapshot.config.server.metrics, registry));
    if (metricsListener) cleanups.push(() => metricsListener.close());

    let config: ConfigWatcher | undefined;
    if (options.watch) {
      config = watchConfig({
        initial: options.snapshot,
        sighup: true,
        // The file is validated once (by the watcher) and fanned out to every capability's reload. One that
        // throws refuses the whole snapshot: the watcher re-applies the previous one everywhere.
        onReload: async (next, _previous, reason) => {
          await reloadCapability('access', () => access.reload(next.config));
          await reloadCapability('service_tokens', async () => serviceTokens.reload(serviceTokenSettingsOf(next.config.service_tokens)));
          await reloadCapability('dns', () => dns.reload(next.config.dns));
          await reloadCapability('reports', async () => reports.reload(next.config));
          await reloadCapability('ssh', async () => commandLine.reload(next.config));
          core.setSnapshot(next);
          // Compared with the config the process started with: that is what its listeners and pools use.
          const restartNeeded = restartOnlyChanges(options.snapshot.config, next.config, RESTART_ONLY_KEYS);
          logger.info({ reason, path: next.path, ...(restartNeeded.length > 0 ? { restartNeeded } : {}) }, restartNeeded.length > 0 ? `configuration reloaded; ${restartNeeded.join('; ')}` : 'configuration reloaded');
        },
        onRejected: (error, reason) => logger.error({ reason, problems: String((error as Error).message) }, 'configuration refused; the previous one stays in force'),
      });
      cleanups.push(() => config?.close());
    }

    return {
      core,
      portalUrl: portalUrlOf(options.snapshot.config),
      httpPort: listeners.httpPort,
      httpsPort: listeners.httpsPort,
      metricsPort: metricsListener ? metricsListener.port : undefined,
      registry,
      feed,
      config,
      access,
      tcpTunnels,
      serviceTokens,
      dns,
      incidents,
      reports,
      inject: app.inject.bind(app),
      routeTree: () => app.printRoutes({ commonPrefix: false }),
      async close() {
        for (const cleanup of cleanups.reverse()) await cleanup();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => {});
    throw error;
  }
}
