import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { GatehouseError } from '../../lib/errors.js';
import { ForwardHandler, type ForwardFailureSink } from './forward-handler.js';
import { resolveProxyApps, type ProxyAppOptions, type ResolvedProxyApp } from './proxy-app-options.js';
import {
  classifyUpstreamFailure,
  renderPlainErrorPage,
  requestRefused,
  type ErrorRenderer,
  type ProxyLogger,
} from './proxy-error.js';
import { rejectSmuggling } from './reject-smuggling.js';
import { createTrustedProxies, type TrustedProxies } from './trusted-proxies.js';
import { buildUpstreamRequestHeaders } from './upstream-request-headers.js';
import { UpstreamPool } from './upstream-pool.js';
import { upstreamTargetOf, upstreamTargetRefusalOf } from './upstream-target.js';
import { rejectUpgrade, tunnelWebSocket, writeRawErrorResponse, type UpgradeTarget } from './websocket-upgrade.js';

export interface CreateProxyOptions {
  apps: readonly ProxyAppOptions[];
  /** CIDRs of load balancers whose X-Forwarded-* headers are believed. */
  trustedProxies?: readonly string[];
  /** HTML for 4xx/502/504 pages; defaults to a plain page. */
  renderError?: ErrorRenderer;
  logger?: ProxyLogger;
  /** Cookies never passed to an app (the Gatehouse session cookie: an app must not be able to replay it). */
  strippedCookies?: readonly string[];
}

export interface ForwardOptions {
  /** The signed identity JWT for this (session, app), from the assertion issuer's cache. */
  assertion?: string;
  requestId?: string;
}

export interface AccessProxy {
  /** Forwards an authorized request to the app's upstream and streams the answer back. Never throws. */
  forward(req: IncomingMessage, res: ServerResponse, app: string, options?: ForwardOptions): void;
  /** Tunnels an authorized WebSocket upgrade (the node server's `upgrade` event). Never throws. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, app: string, options?: ForwardOptions): void;
  /** Swaps the app list (config reload): unchanged upstreams keep their pools, removed ones drain and close. */
  setApps(apps: readonly ProxyAppOptions[]): Promise<void>;
  close(): Promise<void>;
}

interface AppTarget extends UpgradeTarget {
  pool: UpstreamPool;
  upstreamHost: string | undefined;
  fingerprint: string;
}

export function createProxy(options: CreateProxyOptions): AccessProxy {
  const trustedProxies: TrustedProxies = createTrustedProxies(options.trustedProxies ?? []);
  const renderError = options.renderError ?? renderPlainErrorPage;
  const logger = options.logger;
  const strippedCookies = options.strippedCookies?.length ? new Set(options.strippedCookies) : null;
  let targets = buildTargets(resolveProxyApps(options.apps), new Map());
  const tunnels = new Set<Socket>();

  function render(error: GatehouseError, app: string | undefined, requestId: string | undefined): string {
    try {
      return renderError(error, { requestId, app });
    } catch (cause) {
      logger?.warn({ err: cause, app, requestId }, 'error page renderer failed');
      return renderPlainErrorPage(error, { requestId, app });
    }
  }

  function respondWithError(res: ServerResponse, error: GatehouseError, app: string | undefined, requestId: string | undefined, close: boolean): void {
    if (res.headersSent || res.destroyed) {
      // The status line is gone already: cutting the connection is the only honest signal of a truncated body.
      res.destroy();
      return;
    }
    const body = render(error, app, requestId);
    const headers = ['content-type', 'text/html; charset=utf-8', 'content-length', String(Buffer.byteLength(body)), 'cache-control', 'no-store'];
    // RFC 9112 §6.3: after a framing error the rest of the connection cannot be trusted.
    if (close) headers.push('connection', 'close');
    res.writeHead(error.status, headers);
    res.end(body);
  }

  const sink: ForwardFailureSink = {
    upstreamFailed(res, cause, app, requestId) {
      const error = classifyUpstreamFailure(cause, app);
      logger?.warn({ code: error.code, detail: error.detail, app, requestId }, 'upstream request failed');
      respondWithError(res, error, app, requestId, false);
    },
  };

  return {
    forward(req, res, app, forwardOptions = {}) {
      const { assertion, requestId } = forwardOptions;
      try {
        const target = targets.get(app);
        if (target === undefined) return respondWithError(res, requestRefused('unknown_app', `no app ${JSON.stringify(app)}`), app, requestId, false);
        const refusal = rejectSmuggling(req);
        if (refusal !== null) {
          logger?.warn({ code: refusal, app, requestId, peer: req.socket.remoteAddress }, 'request refused: ambiguous framing');
          return respondWithError(res, requestRefused(refusal), app, requestId, true);
        }
        const path = upstreamTargetOf(req.url!);
        if (path === null) {
          const reason = upstreamTargetRefusalOf(req.url!);
          logger?.warn({ code: reason, app, requestId, peer: req.socket.remoteAddress }, 'request refused: path an upstream could route differently');
          return respondWithError(res, requestRefused(reason), app, requestId, false);
        }
        const headers = buildUpstreamRequestHeaders(req, {
          trustedProxies,
          upstreamHost: target.upstreamHost,
          strippedCookies,
          assertion,
          requestId,
        });
        const handler = new ForwardHandler(res, sink, app, requestId, strippedCookies);
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
        sink.upstreamFailed(res, cause, app, requestId);
      }
    },

    upgrade(req, socket, head, app, forwardOptions = {}) {
      const { assertion, requestId } = forwardOptions;
      const fail = (error: GatehouseError): void => writeRawErrorResponse(socket, error, render(error, app, requestId));
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
        const headers = buildUpstreamRequestHeaders(req, {
          trustedProxies,
          upstreamHost: target.upstreamHost,
          strippedCookies,
          assertion,
          requestId,
          extra: ['connection', 'Upgrade', 'upgrade', 'websocket'],
        });
        tunnelWebSocket(
          socket,
          head,
          target,
          path,
          headers,
          {
            failed(cause) {
              const error = classifyUpstreamFailure(cause, app);
              logger?.warn({ code: error.code, detail: error.detail, app, requestId }, 'upstream upgrade failed');
              fail(error);
            },
            opened: (upstream) => tunnels.add(upstream),
            closed: (upstream) => tunnels.delete(upstream),
          },
          strippedCookies,
        );
      } catch (cause) {
        fail(classifyUpstreamFailure(cause, app));
      }
    },

    async setApps(apps) {
      const previous = targets;
      targets = buildTargets(resolveProxyApps(apps), previous);
      const kept = new Set(targets.values());
      await Promise.all([...previous.values()].filter((target) => !kept.has(target)).map((target) => target.pool.close()));
    },

    async close() {
      for (const tunnel of tunnels) tunnel.destroy();
      tunnels.clear();
      await Promise.all([...targets.values()].map((target) => target.pool.destroy()));
    },
  };
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

function buildTargets(apps: ResolvedProxyApp[], previous: Map<string, AppTarget>): Map<string, AppTarget> {
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
      pool: new UpstreamPool(url, {
        connections: app.maxConnections,
        connectTimeoutMs: app.connectTimeoutMs,
        headersTimeoutMs: app.responseTimeoutMs,
        bodyTimeoutMs: app.idleTimeoutMs,
      }),
    });
  }
  return targets;
}
