import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { GatehouseConfig } from '../config/index.js';
import { createDatabaseSigningKeyStore, createSigningKeyRing, type JsonWebKeySet } from '../credentials/index.js';
import type { SessionManager } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { Change, Store } from '../store/index.js';
import { createAccessGateway, type AccessGateway } from './access-gateway.js';
import { AppSessions } from './app-sessions.js';
import { IpBlocks } from './ip-blocks.js';
import { compilePolicyEngine, type PolicyEngine } from './policy/index.js';
import { createIdentityAssertionIssuer, createProxy, createTrustedProxies, proxyAppOptionsOf, type TrustedProxies } from './proxy/index.js';

export interface AccessLayer {
  gateway: AccessGateway;
  ipBlocks: IpBlocks;
  appSessions: AppSessions;
  engine(): PolicyEngine;
  jwks(): JsonWebKeySet;
  /** Builds everything derived from a new config; throws (and changes nothing) if it cannot. */
  reload(config: GatehouseConfig): Promise<void>;
  applyChange(change: Change): void;
  isAppUrl(url: URL): boolean;
  close(): Promise<void>;
}

export interface BuildAccessOptions {
  config: GatehouseConfig;
  store: Store;
  sessions: SessionManager;
  audit: AuditLog;
  clock: Clock;
  random: Random;
  logger: Logger;
  registry: Registry;
  /** The portal's external URL for a config (the composition root knows how it is derived). */
  portalUrlOf: (config: GatehouseConfig) => string;
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
    store: createDatabaseSigningKeyStore(store.db),
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
    trustedProxies: config.access.trusted_proxies,
    // Neither the portal's nor the app's session cookie may reach an app: it could replay them.
    strippedCookies: [...new Set([config.access.session_cookie_name, config.sessions.cookie_name, 'gatehouse_csrf'])],
    logger,
  });
  // Derived once per config snapshot, not on every proxied request.
  const gatewaySettingsOf = (next: GatehouseConfig) => ({
    portalUrl: options.portalUrlOf(next),
    organisation: next.portal.organisation,
    cookieName: next.access.session_cookie_name,
    cookieMaxAgeSeconds: Math.floor(next.sessions.absolute_timeout_hours * 3600),
  });
  let gatewaySettings = gatewaySettingsOf(config);
  const appSessions = new AppSessions(store, options.sessions, clock, random);
  const requests = new Counter({
    name: 'gatehouse_access_requests_total',
    help: 'Requests to app hosts by app and decision outcome (allow, bypass, deny, sign_in, step_up, bad_request).',
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
  });
  const housekeeping = setInterval(() => void appSessions.pruneCodes().catch(() => {}), 60_000);
  housekeeping.unref();

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
    },
    applyChange(change) {
      ipBlocks.applyChange(change);
      const idHashes = (change.payload.idHashes as string[] | undefined) ?? [];
      if (change.kind === 'session.revoked' || change.kind === 'session.updated') {
        for (const idHash of idHashes) assertions.forgetSession(idHash);
      }
      if (change.kind === 'session.revoked') gateway.closeTunnels({ sessionHashes: idHashes });
      else if (change.kind === 'session.revoked_user' || change.kind === 'user.changed') gateway.closeTunnels({ userId: String(change.payload.userId) });
      else if (change.kind === 'session.revoked_all') gateway.closeTunnels({ all: true });
    },
    isAppUrl: (url) => engine.appForHost(url.host) !== undefined,
    async close() {
      clearInterval(maintenance);
      clearInterval(housekeeping);
      await proxy.close();
    },
  };
}

