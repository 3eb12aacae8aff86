import { randomUUID } from 'node:crypto';
import http from 'node:http';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { isGatehouseError } from '../lib/errors.js';
import { messagePage, setSecurityHeaders } from '../portal/index.js';
import type { PortalMetrics } from '../portal/index.js';
import { httpsRedirectTarget, type HttpsRedirectOptions } from './https-redirect.js';
import { isStoreUnavailable } from './is-store-unavailable.js';
import { createStoreOutageMonitor } from './store-outage-monitor.js';

/** Requests for hosts other than the portal's are claimed by the access proxy before fastify runs. */
export type HostRouter = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface HttpAppOptions {
  logger: Logger;
  bodyLimit: number;
  /** Whether the client's request reached us (or the trusted proxy in front) over TLS: the access capability's one rule. */
  isHttps: (req: http.IncomingMessage) => boolean;
  registry: Registry;
  metrics: PortalMetrics;
  organisation: () => string;
  ready: () => Promise<void>;
  /** Set later by the access proxy; undefined: everything goes to fastify. */
  router: { current?: HostRouter };
  /** Set once both HTTP and HTTPS listen; undefined: plain HTTP is served as it is. */
  httpsRedirect: { current?: HttpsRedirectOptions };
  /** Whether HSTS covers subdomains (`server.hsts.include_subdomains`). */
  hstsIncludeSubdomains: () => boolean;
  now: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Whether the client reached us, or the trusted proxy in front, over TLS (access's one rule; never fastify's `protocol`). */
    readonly isHttps: boolean;
  }
}

/** Seconds a client is asked to wait (RFC 9110 §10.2.3) while the database is unreachable. */
const STORE_RETRY_AFTER_S = 5;

const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, message: 'This content type is not accepted here.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, message: 'The request body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, message: 'The request body is not valid JSON.' },
};

function wantsJson(url: string, accept: string | undefined): boolean {
  return url.startsWith('/api/') || url.startsWith('/admin/api/') || (accept ?? '').includes('application/json');
}

/** Refusals the portal's script answers itself: a stale key proof is fixed by a touch and a retry. */
const CLIENT_ACTION_CODES = new Set(['step_up_required']);

/**
 * The fastify instance serving the portal, admin API and health probes (metrics have a listener of
 * their own). Its node server first sends plain-HTTP requests for served hosts to HTTPS when both
 * listen, then dispatches to the host router (app hosts go straight to the proxy handler, off
 * fastify's path).
 */

export function buildHttpApp(options: HttpAppOptions): { app: FastifyInstance; handler: http.RequestListener } {
  let fastifyHandler: http.RequestListener | undefined;
  const handler: http.RequestListener = (req, res) => {
    const https = options.isHttps(req);
    const secureLocation = options.httpsRedirect.current && httpsRedirectTarget(req, https, options.httpsRedirect.current);
    if (secureLocation) {
      res.writeHead(308, { location: secureLocation, 'content-length': '0', 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (options.router.current?.(req, res)) return;
    fastifyHandler!(req, res);
  };
  const app = Fastify({
    loggerInstance: options.logger,
    bodyLimit: options.bodyLimit,
    // Forwarded headers have one parser, against the one trusted-proxy list (access's forwarded-headers).
    // fastify's own (proxy-addr) reads no `Forwarded` and unmaps nothing, so with it `request.ip` and
    // `request.protocol` could disagree with the gateway's decision for the same request; off, they
    // are the socket's, and readers ask `request.isHttps` or the deps' clientIp instead.
    trustProxy: false,
    genReqId: () => randomUUID().slice(0, 13),
    serverFactory: (fastifyListener) => {
      fastifyHandler = fastifyListener;
      return http.createServer(handler);
    },
  });
  // The redirect's decision above, for HSTS, Secure cookies and the CSRF cookie's name: they cannot disagree.
  app.decorateRequest('isHttps', {
    getter(this: FastifyRequest) {
      return options.isHttps(this.raw);
    },
  });
  app.register(cookie);
  app.register(formbody, { bodyLimit: options.bodyLimit });

  const outage = createStoreOutageMonitor({ logger: options.logger, registry: options.registry, probe: options.ready, now: options.now });
  app.addHook('onClose', async () => outage.close());

  // RFC 6797 §6.1.2: includeSubDomains is opt-in, since every subdomain must then serve HTTPS. Set
  // before any handler runs; the portal's security headers keep a policy already set.
  app.addHook('onRequest', async (request, reply) => {
    if (request.isHttps && options.hstsIncludeSubdomains()) reply.header('strict-transport-security', 'max-age=31536000; includeSubDomains');
  });

  app.addHook('onResponse', async (request, reply) => {
    options.metrics.requestDuration.observe({ kind: 'portal', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    let status = 500;
    let message = 'Something went wrong on our side. Try again in a moment.';
    if (isStoreUnavailable(error)) {
      // Checked first: a domain error may wrap the store's. Logged once per outage by the monitor.
      status = 503;
      message = 'The service is briefly unavailable. Try again in a moment.';
      reply.header('retry-after', String(STORE_RETRY_AFTER_S));
      outage.failed(error);
    } else if (isGatehouseError(error)) {
      status = error.status;
      message = error.publicMessage;
      request.log.info({ code: error.code, detail: error.detail }, 'request refused');
    } else if (error.validation) {
      status = 400;
      message = `The request is not valid: ${error.message}`;
    } else if (error.code && CLIENT_ERRORS[error.code]) {
      ({ status, message } = CLIENT_ERRORS[error.code]!);
    } else if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      status = error.statusCode;
      message = 'The request could not be understood.';
    } else {
      request.log.error({ err: error }, 'unhandled error');
    }
    reply.code(status);
    setSecurityHeaders(reply, request.isHttps);
    if (wantsJson(request.url, request.headers.accept)) {
      // A code goes to the client only where the page acts on it (ask for a key touch and retry);
      // every other refusal keeps one generic message, with the real reason in the audit log.
      const code =
        status === 503 ? { code: 'store_unavailable' } : isGatehouseError(error) && CLIENT_ACTION_CODES.has(error.code) ? { code: error.code } : {};
      return reply.send({ message, requestId: request.id, ...code });
    }
    return reply
      .type('text/html; charset=utf-8')
      .send(
        messagePage(
          { organisation: options.organisation(), csrfToken: '' },
          {
            title: status >= 500 ? 'Something went wrong' : 'That did not work',
            message,
            next: status >= 500 ? 'Wait a moment and try again. If it keeps happening, tell your IT team and give them the reference below.' : 'Go back and try again. If it keeps happening, tell your IT team and give them the reference below.',
            action: { href: '/account', label: 'Go to your account' },
            requestId: request.id,
          },
        ),
      );
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404);
    if (wantsJson(request.url, request.headers.accept)) return reply.send({ message: 'Not found.', requestId: request.id });
    return reply
      .type('text/html; charset=utf-8')
      .send(messagePage({ organisation: options.organisation(), csrfToken: '' }, { title: 'Page not found', message: 'There is nothing at this address.', action: { href: '/account', label: 'Go to your account' } }));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    try {
      await options.ready();
      return { status: 'ready' };
    } catch {
      return reply.code(503).send({ status: 'not ready' });
    }
  });
  return { app: app as unknown as FastifyInstance, handler };
}
