import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { GatehouseError } from '../../lib/errors.js';
import { ClientInFlightLimit } from './client-in-flight-limit.js';
import { ForwardHandler, type ForwardFailureSink } from './forward-handler.js';
import { forwardedHeadersOf, type ForwardedHeaders } from './forwarded-headers.js';
import { OverloadLog, type OverloadCode } from './overload-log.js';
import { resolveProxyApps, type ProxyAppOptions, type ResolvedProxyApp } from './proxy-app-options.js';
import {
  classifyUpstreamFailure,
  clientConcurrencyLimit,
  renderPlainErrorPage,
  requestRefused,
  retryAfterOf,
  type ErrorPageContext,
  type ErrorRenderer,
  type ProxyLogger,
} from './proxy-error.js';
import { rejectSmuggling } from './reject-smuggling.js';
import { unmapIPv4 } from '../../lib/ip/unmap-ipv4.js';
import { createTrustedProxies, type TrustedProxies } from './trusted-proxies.js';
import { buildUpstreamRequestHeaders } from './upstream-request-headers.js';
import { UpstreamPool } from './upstream-pool.js';
import { upstreamTargetOf, upstreamTargetRefusalOf } from './upstream-target.js';
import { rejectUpgrade, tunnelWebSocket, writeRawErrorResponse, type UpgradeTarget } from './websocket-upgrade.js';

export interface CreateProxyOptions {
  apps: readonly ProxyAppOptions[];
  /**
   * Load balancers whose X-Forwarded-* headers are believed, for requests forwarded without the
   * gateway's parse (`ForwardOptions.forwarded`): CIDRs, or the live list of whoever owns it, so a
   * reload replaces it here too.
   */
  trustedProxies?: readonly string[] | (() => TrustedProxies);
  /** HTML for 4xx/502/504 pages; defaults to a plain page. */
  renderError?: ErrorRenderer;
  /**
   * Headers on those pages besides the framing ones: the caller's CSP for its renderer's markup (the
   * default allows nothing, which suits the plain page).
   */
  errorPageHeaders?: Readonly<Record<string, string>>;
  logger?: ProxyLogger;
  /** Cookies never passed to an app (the Gatehouse session cookie: an app must not be able to replay it). */
  strippedCookies?: readonly string[];
  /** Monotonic milliseconds for the upstream deadlines and log rate limits (tests inject one); default `performance.now`. */
  now?: () => number;
}

export interface ForwardOptions {
  /** The signed identity JWT for this (session, app), from the assertion issuer's cache. */
  assertion?: string;
  requestId?: string;
  /**
   * The client's address as the gateway determined it (trusted proxies honoured), for the per-client
   * in-flight cap; when absent the proxy derives it from the request the same way.
   */
  clientAddress?: string;
  /**
   * The gateway's parse of this request's forwarded headers. Given, the proxy does not parse them
   * again: the address the policy judged and the X-Forwarded-For the upstream sees come from one
   * parse under one trusted-proxy list, so a reload cannot make them disagree.
   */
  forwarded?: ForwardedHeaders;
  /** The signed-in person the gateway validated the session of, named on an error page (502, 503...). */
  signedInAs?: string;
}

/** What one app's upstream is carrying right now, and what was refused since start. */
export interface ProxyAppLoad {
  /** Requests holding a per-client slot (queued, upstream, or in a WebSocket handshake). */
  inFlight: number;
  /** Clients with at least one request in flight. */
  clients: number;
  /** Requests waiting for an upstream connection. */
  queued: number;
  /** Upstream connections open (busy or idle). */
  connections: number;
  refused: Record<OverloadCode, number>;
}

export interface AccessProxy {
  /** Forwards an authorized request to the app's upstream and streams the answer back. Never throws. */
  forward(req: IncomingMessage, res: ServerResponse, app: string, options?: ForwardOptions): void;
  /** Tunnels an authorized WebSocket upgrade (the node server's `upgrade` event). Never throws. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, app: string, options?: ForwardOptions): void;
  /** Swaps the app list (config reload): unchanged upstreams keep their pools, removed ones drain and close. */
  setApps(apps: readonly ProxyAppOptions[]): Promise<void>;
  /** The app's current load (metrics, tests: every counter returns to zero once the traffic stops). */
  load(app: string): ProxyAppLoad | undefined;
  close(): Promise<void>;
}

interface AppTarget extends UpgradeTarget {
  pool: UpstreamPool;
  clients: ClientInFlightLimit;
  upstreamHost: string | undefined;
  fingerprint: string;
}

/**
 * An error page the proxy answers itself speaks for the app's host, so it carries what the gateway's
 * own pages carry: no framing (a "try again" button under someone else's page is a clickjacking lure),
 * no sniffing, and a CSP that allows no script and no origin ('self' would be the app's upstream).
 */
const ERROR_PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

export function createProxy(options: CreateProxyOptions): AccessProxy {
  const errorPageHeaders = { ...ERROR_PAGE_HEADERS, ...options.errorPageHeaders };
  const configured = options.trustedProxies;
  const fixedTrusted: TrustedProxies | undefined = typeof configured === 'function' ? undefined : createTrustedProxies(configured ?? []);
  const trustedProxiesNow = (): TrustedProxies => fixedTrusted ?? (configured as () => TrustedProxies)();
  const renderError = options.renderError ?? renderPlainErrorPage;
  const logger = options.logger;
  const strippedCookies = options.strippedCookies?.length ? new Set(options.strippedCookies) : null;
  const now = options.now ?? (() => performance.now());
  const overload = new OverloadLog(logger, now);
  let targets = buildTargets(resolveProxyApps(options.apps), new Map(), now);
  const tunnels = new Set<Socket>();

  function render(error: GatehouseError, page: ErrorPageContext): string {
    try {
      return renderError(error, page);
    } catch (cause) {
      logger?.warn({ err: cause, app: page.app, requestId: page.requestId }, 'error page renderer failed');
      return renderPlainErrorPage(error, page);
    }
  }

  function respondWithError(res: ServerResponse, error: GatehouseError, page: ErrorPageContext, close: boolean): void {
    if (res.headersSent || res.destroyed) {
      // The status line is gone already: cutting the connection is the only honest signal of a truncated body.
      res.destroy();
      return;
    }
    const body = render(error, page);
    const headers = ['content-type', 'text/html; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store', ...Object.entries(errorPageHeaders).flat()];
    // RFC 9112 §6.3: after a framing error the rest of the connection cannot be trusted.
    if (close) headers.push('connection', 'close');
    const retryAfter = retryAfterOf(error);
    if (retryAfter !== undefined) headers.push('retry-after', retryAfter);
    res.writeHead(error.status, headers);
    res.end(body);
  }

  function refuseOverClientLimit(app: string, target: AppTarget, client: string, requestId: string | undefined, answer: (error: GatehouseError) => void): void {
    const error = clientConcurrencyLimit(`app ${app}: client ${client} already has ${target.clients.limit} requests in flight`);
    overload.record(app, 'client_concurrency_limit', { requestId, client, detail: error.detail });
    answer(error);
  }

  const sink: ForwardFailureSink = {
    upstreamFailed(res, cause, app, page) {
      const { requestId } = page;
      const error = classifyUpstreamFailure(cause, app);
      if (error.code === 'upstream_queue_full' || error.code === 'upstream_queue_timeout') overload.record(app, error.code, { requestId, detail: error.detail });
      else logger?.warn({ code: error.code, detail: error.detail, app, requestId }, 'upstream request failed');
      respondWithError(res, error, page, false);
    },
  };

  return {
    forward(req, res, app, forwardOptions = {}) {
      const { assertion, requestId, forwarded } = forwardOptions;
      const page: ErrorPageContext = { requestId, app, signedInAs: forwardOptions.signedInAs };
      let handler: ForwardHandler | undefined;
      try {
        const target = targets.get(app);
        if (target === undefined) return respondWithError(res, requestRefused('unknown_app', `no app ${JSON.stringify(app)}`), page, false);
        const refusal = rejectSmuggling(req);
        if (refusal !== null) {
          logger?.warn({ code: refusal, app, requestId, peer: req.socket.remoteAddress }, 'request refused: ambiguous framing');
          return respondWithError(res, requestRefused(refusal), page, true);
        }
        const path = upstreamTargetOf(req.url!);
        if (path === null) {
          const reason = upstreamTargetRefusalOf(req.url!);
          logger?.warn({ code: reason, app, requestId, peer: req.socket.remoteAddress }, 'request refused: path an upstream could route differently');
          return respondWithError(res, requestRefused(reason), page, false);
        }
        const trustedProxies = trustedProxiesNow();
        const headers = buildUpstreamRequestHeaders(req, {
          trustedProxies,
          forwarded,
          upstreamHost: target.upstreamHost,
          strippedCookies,
          assertion,
          requestId,
        });
        // The client left while the request was being authorized: its 'close' has fired already, so
        // nothing would end the exchange early; there is no one to answer either.
        if (req.socket.destroyed) return;
        const client = forwardOptions.clientAddress ?? forwarded?.clientAddress ?? clientAddressOf(req, trustedProxies);
        const release = target.clients.acquire(client);
        if (release === null) return refuseOverClientLimit(app, target, client, requestId, (error) => respondWithError(res, error, page, false));
        // From here the handler owns the slot: it gives it back on every way the exchange can end.
        handler = new ForwardHandler(res, sink, app, page, strippedCookies, release);
        target.pool.dispatch(
          {
            path: target.pathPrefix + path,
            method: req.method!,
            headers,
            // Streams in both directions: the pool reads `req` with backpressure and re-frames it.
            body: hasRequestBody(req) ? req : null,
          },
          handler,
        );
      } catch (cause) {
        if (handler !== undefined) handler.onError(cause as Error);
        else sink.upstreamFailed(res, cause, app, page);
      }
    },

    upgrade(req, socket, head, app, forwardOptions = {}) {
      const { assertion, requestId, forwarded } = forwardOptions;
      const fail = (error: GatehouseError): void => writeRawErrorResponse(socket, error, render(error, { requestId, app, signedInAs: forwardOptions.signedInAs }), errorPageHeaders);
      let release: (() => void) | null = null;
      try {
        socket.on('error', () => socket.destroy());
        const target = targets.get(app);
        if (target === undefined) return fail(requestRefused('unknown_app', `no app ${JSON.stringify(app)}`));
        const refusal = rejectUpgrade(req);
        const path = refusal === null ? upstreamTargetOf(req.url!) : null;
        if (path === null) {
          const reason = refusal ?? upstreamTargetRefusalOf(req.url!);
          logger?.warn({ code: reason, app, requestId, peer: req.socket.remoteAddress }, 'upgrade refused');
          return fail(requestRefused('invalid_upgrade', reason));
        }
        const trustedProxies = trustedProxiesNow();
        const headers = buildUpstreamRequestHeaders(req, {
          trustedProxies,
          forwarded,
          upstreamHost: target.upstreamHost,
          strippedCookies,
          assertion,
          requestId,
          extra: ['connection', 'Upgrade', 'upgrade', 'websocket'],
        });
        if (socket.destroyed) return;
        const client = forwardOptions.clientAddress ?? forwarded?.clientAddress ?? clientAddressOf(req, trustedProxies);
        release = target.clients.acquire(client);
        if (release === null) return refuseOverClientLimit(app, target, client, requestId, fail);
        // The handshake holds a slot: a hanging handshake holds an upstream socket as a hanging
        // request does. An open tunnel does not: it is long-lived by design (a tab keeps one for
        // hours) and is bounded by its session instead. Every handshake ends in `opened` or in the
        // client socket closing (refusal relayed, failure page, client gone, timeout).
        const releaseSlot = release;
        socket.once('close', releaseSlot);
        // The node server keeps upgrade sockets half-open: a client hanging up mid-handshake shows only
        // as 'end'. Closing the socket cancels the upstream handshake (tunnelWebSocket watches 'close')
        // and gives the slot back; without it a client could free its slot with a FIN while the upstream
        // socket stayed open until the handshake timeout.
        const hangUp = (): void => void socket.destroy();
        socket.once('end', hangUp);
        const handshakeDone = (): void => {
          socket.off('end', hangUp);
          releaseSlot();
        };
        tunnelWebSocket(
          socket,
          head,
          target,
          path,
          headers,
          {
            failed(cause) {
              handshakeDone();
              const error = classifyUpstreamFailure(cause, app);
              logger?.warn({ code: error.code, detail: error.detail, app, requestId }, 'upstream upgrade failed');
              fail(error);
            },
            opened: (upstream) => {
              handshakeDone();
              tunnels.add(upstream);
            },
            closed: (upstream) => tunnels.delete(upstream),
          },
          strippedCookies,
        );
      } catch (cause) {
        release?.();
        fail(classifyUpstreamFailure(cause, app));
      }
    },

    async setApps(apps) {
      const previous = targets;
      targets = buildTargets(resolveProxyApps(apps), previous, now);
      const kept = new Set(targets.values());
      await Promise.all([...previous.values()].filter((target) => !kept.has(target)).map((target) => target.pool.close()));
    },

    load(app) {
      const target = targets.get(app);
      if (target === undefined) return undefined;
      return { inFlight: target.clients.size, clients: target.clients.clients, queued: target.pool.queued, connections: target.pool.open, refused: { ...overload.countsOf(app) } };
    },

    async close() {
      for (const tunnel of tunnels) tunnel.destroy();
      tunnels.clear();
      await Promise.all([...targets.values()].map((target) => target.pool.destroy()));
    },
  };
}

/** The client address as the gateway determines it: X-Forwarded-For only when the peer is a trusted proxy. */
function clientAddressOf(req: IncomingMessage, trustedProxies: TrustedProxies): string {
  const peer = unmapIPv4(req.socket.remoteAddress ?? '');
  return trustedProxies.contains(peer) ? forwardedHeadersOf(req, trustedProxies).clientAddress : peer;
}

/** Framing was validated by rejectSmuggling: a body exists when there is chunked framing or a non-zero length. */
function hasRequestBody(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') return true;
    if (name.length === 14 && name.toLowerCase() === 'content-length') return raw[i + 1]!.trim() !== '0';
  }
  return false;
}

function buildTargets(apps: ResolvedProxyApp[], previous: Map<string, AppTarget>, now: () => number): Map<string, AppTarget> {
  const reusable = new Map<string, AppTarget>();
  for (const target of previous.values()) reusable.set(target.fingerprint, target);
  const targets = new Map<string, AppTarget>();
  for (const app of apps) {
    const fingerprint = JSON.stringify(app);
    const existing = reusable.get(fingerprint);
    if (existing) {
      targets.set(app.name, existing);
      continue;
    }
    const url = new URL(app.upstream);
    targets.set(app.name, {
      name: app.name,
      url,
      pathPrefix: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
      connectTimeoutMs: app.connectTimeoutMs,
      responseTimeoutMs: app.responseTimeoutMs,
      upstreamHost: app.preserveHost ? undefined : url.host,
      fingerprint,
      clients: new ClientInFlightLimit(app.maxRequestsPerClient),
      pool: new UpstreamPool(url, {
        connections: app.maxConnections,
        maxQueued: app.maxQueuedRequests,
        now,
        connectTimeoutMs: app.connectTimeoutMs,
        headersTimeoutMs: app.responseTimeoutMs,
        bodyTimeoutMs: app.idleTimeoutMs,
      }),
    });
  }
  return targets;
}
