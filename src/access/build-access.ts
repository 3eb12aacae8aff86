import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { GatehouseConfig } from '../config/index.js';
import { createDatabaseSigningKeyStore, createSigningKeyRing, SERVICE_TOKEN_FEED, serviceTokenStatesOf, type JsonWebKeySet } from '../credentials/index.js';
import type { SessionManager } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { SecretSealer } from '../secrets/index.js';
import type { Change, Store } from '../store/index.js';
import { createAccessGateway, type AccessGateway } from './access-gateway.js';
import { appErrorPage } from './access-pages.js';
import type { ServiceTokenCheck } from './service-token-gate.js';
import { HANDSHAKE_STATE_COOKIE } from './app-cookie-names.js';
import { appOriginOf } from './app-origin.js';
import { AppSessions } from './app-sessions.js';
import { CSRF_COOKIE_NAMES, portalSessionCookieNameOf, STATIC_PAGE_CSP } from '../portal/index.js';
import { IpBlocks } from './ip-blocks.js';
import { compilePolicyEngine, type PolicyEngine } from './policy/index.js';
import { createIdentityAssertionIssuer, createProxy, createTrustedProxies, forwardedHeadersOf, isHttpsRequest, proxyAppOptionsOf, type TrustedProxies } from './proxy/index.js';

export interface AccessLayer {
  gateway: AccessGateway;
  ipBlocks: IpBlocks;
  appSessions: AppSessions;
  engine(): PolicyEngine;
  jwks(): JsonWebKeySet;
  /** Builds everything derived from a new config; throws (and changes nothing) if it cannot. */
  reload(config: GatehouseConfig): Promise<void>;
  applyChange(change: Change): void;
  /**
   * The one trusted-proxy list (`access.trusted_proxies`), replaced by `reload`: the gateway, the proxy
   * and the portal's client address (`clientAddress`) all consult it.
   */
  trustedProxies(): TrustedProxies;
  /**
   * The client's address for audit records, rate limits and IP rules: X-Forwarded-For read only from a
   * trusted peer (the one parser, see forwarded-headers). A client naming an address in the header
   * while not a trusted proxy gets its socket address.
   */
  clientAddress(req: IncomingMessage): string;
  /** Whether a request reached us over TLS or a trusted proxy says it reached that proxy over TLS (the one rule, see forwarded-headers). */
  isHttps(req: IncomingMessage): boolean;
  /** Whether `url` is on an app's configured origin (scheme, host and port from config). */
  isAppUrl(url: URL): boolean;
  /** The configured origin of an app (see app-origin), or undefined for an unknown app. */
  appOrigin(appName: string): string | undefined;
  close(): Promise<void>;
}

export interface BuildAccessOptions {
  config: GatehouseConfig;
  store: Store;
  sessions: SessionManager;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  /** Seals the signing keys at rest (the key-encryption key). */
  sealer: SecretSealer;
  logger: Logger;
  registry: Registry;
  /** The portal's external URL for a config (the composition root knows how it is derived). */
  portalUrlOf: (config: GatehouseConfig) => string;
  /**
   * Service tokens (the credentials capability): requests carrying a token are verified with it and
   * their use recorded. Absent, every token presentation is refused.
   */
  serviceTokens?: ServiceTokenCheck | undefined;
}

function proxyAppsOf(config: GatehouseConfig) {
  return config.apps.map(proxyAppOptionsOf);
}

/** The access capability, assembled for the composition root: policies, proxy, key ring, handshake. */
export async function buildAccess(options: BuildAccessOptions): Promise<AccessLayer> {
  const { store, clock, random, audit, logger } = options;
  const config = options.config;
  const ipBlocks = new IpBlocks(store, clock, audit);
  await ipBlocks.load();
  const compile = (next: GatehouseConfig) => compilePolicyEngine({ apps: next.apps, access: next.access, isIpBlocked: ipBlocks.isBlocked });
  let engine = compile(config);
  let trustedProxies: TrustedProxies = createTrustedProxies(config.access.trusted_proxies);

  // A superseded key stays published while tokens it signed may be alive: the longest configured
  // lifetime plus a minute of clock skew (the ring refuses a shorter window at start-up).
  const keyRing = createSigningKeyRing({
    store: createDatabaseSigningKeyStore(store.db, options.sealer),
    clock,
    random,
    maxTokenLifetimeMs: Math.max(5 * 60_000, (config.access.jwt_ttl_seconds + 60) * 1000),
  });
  await keyRing.refresh();
  await keyRing.ensureKey();
  const maintenance = setInterval(() => void keyRing.maintain().catch((error: unknown) => logger.warn({ err: error }, 'signing key upkeep failed')), 10 * 60_000);
  maintenance.unref();

  const assertions = createIdentityAssertionIssuer({ keyRing, clock, issuer: new URL(options.portalUrlOf(config)).origin, ttlSeconds: config.access.jwt_ttl_seconds });
  const proxy = createProxy({
    apps: proxyAppsOf(config),
    // The gateway hands the proxy its parse of every request; the live list covers any other caller.
    trustedProxies: () => trustedProxies,
    // No Gatehouse cookie may reach an app, on a request or an upgrade: it could replay them. Both the
    // bare and the `__Host-` names, so neither spelling slips through on either scheme.
    strippedCookies: [
      ...new Set(
        [config.access.session_cookie_name, HANDSHAKE_STATE_COOKIE, portalSessionCookieNameOf(config.sessions.cookie_name, false), ...CSRF_COOKIE_NAMES].flatMap((name) => [
          name,
          `__Host-${name.replace(/^__Host-/, '')}`,
        ]),
      ),
    ],
    logger,
    // The pages wear the portal's inline stylesheet, allowed by its hash alone.
    errorPageHeaders: { 'content-security-policy': STATIC_PAGE_CSP },
    // Read at render time: the settings and the app list follow reloads.
    renderError: (error, context) => {
      const app = context.app ? engine.app(context.app) : undefined;
      return appErrorPage(error, { ...context, appOrigin: app ? appOriginOf(gatewaySettings.portalUrl, app.host) : undefined }, gatewaySettings);
    },
  });
  // Derived once per config snapshot, not on every proxied request.
  const gatewaySettingsOf = (next: GatehouseConfig) => ({
    portalUrl: options.portalUrlOf(next),
    organisation: next.portal.organisation,
    accessRequestUrl: next.portal.access_request_url,
    cookieName: next.access.session_cookie_name,
    cookieMaxAgeSeconds: Math.floor(next.sessions.absolute_timeout_hours * 3600),
    sessionAbsoluteMs: next.sessions.absolute_timeout_hours * 3_600_000,
  });
  let gatewaySettings = gatewaySettingsOf(config);
  const appSessions = new AppSessions(store, options.sessions, clock, random);
  const requests = new Counter({
    name: 'gatehouse_access_requests_total',
    help: 'Requests to app hosts by app and decision outcome (allow, bypass, deny, sign_in, step_up, bad_request; service_token_allowed and service_token_refused for machines).',
    labelNames: ['app', 'outcome'] as const,
    registers: [options.registry],
  });
  const gateway = createAccessGateway({
    clock,
    random,
    logger,
    audit,
    engine: () => engine,
    proxy,
    assertions,
    appSessions,
    trustedProxies: () => trustedProxies,
    requests,
    settings: () => gatewaySettings,
    serviceTokens: () => options.serviceTokens,
  });
  const housekeeping = setInterval(() => void appSessions.pruneCodes().catch(() => {}), 60_000);
  housekeeping.unref();
  // A tunnel is authorised once, at the upgrade; this bounds it by its session's absolute timeout.
  const tunnelExpiry = setInterval(() => gateway.closeExpiredTunnels(), 15_000);
  tunnelExpiry.unref();
  // A block reaches this instance through the feed (or its own write) and reloads the list: every open
  // tunnel is judged again, as at its upgrade, so a blocked address loses the connections it holds and
  // not only the next request (an attacker's live WebSocket would otherwise outlast the incident's block).
  const stopWatchingBlocks = ipBlocks.onLoaded(() => {
    const closed = gateway.redecideTunnels();
    if (closed > 0) logger.info({ closed }, 'websocket tunnels no longer allowed after an address block change were closed');
  });
  const appOrigin = (name: string) => {
    const app = engine.app(name);
    return app ? appOriginOf(gatewaySettings.portalUrl, app.host) : undefined;
  };

  return {
    gateway,
    ipBlocks,
    appSessions,
    engine: () => engine,
    jwks: () => keyRing.jwks(),
    async reload(next) {
      const nextEngine = compile(next);
      const nextTrusted = createTrustedProxies(next.access.trusted_proxies);
      await proxy.setApps(proxyAppsOf(next));
      engine = nextEngine;
      trustedProxies = nextTrusted;
      gatewaySettings = gatewaySettingsOf(next);
      const closed = gateway.redecideTunnels();
      if (closed > 0) logger.info({ closed }, 'websocket tunnels no longer allowed by the reloaded policies were closed');
    },
    applyChange(change) {
      ipBlocks.applyChange(change);
      const idHashes = (change.payload.idHashes as string[] | undefined) ?? [];
      // One pass over the token cache per row, not one per hash: a row may carry thousands of hashes.
      if (change.kind === 'session.revoked' || change.kind === 'session.updated') assertions.forgetSessions(idHashes);
      if (change.kind === 'session.revoked') gateway.closeTunnels({ sessionHashes: idHashes });
      else if (change.kind === 'session.revoked_user' || change.kind === 'user.changed') gateway.closeTunnels({ userId: String(change.payload.userId) });
      else if (change.kind === 'session.revoked_all') gateway.closeTunnels({ all: true });
      else if (change.kind === SERVICE_TOKEN_FEED.changed || change.kind === SERVICE_TOKEN_FEED.changedMany) {
        // A bulk revocation is one row for many tokens: each one's tunnels close.
        for (const state of serviceTokenStatesOf(change).states) gateway.closeServiceTokenTunnels(state.clientId, { at: change.at, active: state.status === 'active' });
      }
    },
    isAppUrl: (url) => {
      const app = engine.appForHost(url.host);
      return app !== undefined && appOrigin(app.name) === url.origin;
    },
    appOrigin,
    trustedProxies: () => trustedProxies,
    isHttps: (req) => isHttpsRequest(req, trustedProxies),
    clientAddress: (req) => forwardedHeadersOf(req, trustedProxies).clientAddress,
    async close() {
      stopWatchingBlocks();
      clearInterval(maintenance);
      clearInterval(housekeeping);
      clearInterval(tunnelExpiry);
      await proxy.close();
    },
  };
}

