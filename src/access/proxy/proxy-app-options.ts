import { z } from 'zod';
import { DEFAULT_MAX_QUEUED_REQUESTS, DEFAULT_MAX_REQUESTS_PER_CLIENT } from '../../config/index.js';

const upstreamUrl = z
  .url({ protocol: /^https?$/ })
  .refine((value) => {
    // Runs even when the URL check above failed: must not throw on garbage.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  }, 'upstream must be an http(s) origin, optionally with a path prefix, without query, fragment or credentials');

/**
 * One app as it appears in the YAML config (snake_case). The apps config section can embed it; the
 * descriptions feed the generated docs. `.transform` yields the camelCase `ProxyAppOptions`.
 */
export const proxyAppConfigSchema = z
  .strictObject({
    name: z.string().min(1).max(100).describe('App name: the `aud` of the identity assertion and the key requests are forwarded by.'),
    upstream: upstreamUrl.describe('Upstream base URL, e.g. http://127.0.0.1:8080 or http://wiki.internal:3000/base.'),
    connect_timeout_ms: z.number().int().min(1).max(120_000).default(5_000).describe('Connect timeout to the upstream (ms); exceeded -> 504 page.'),
    response_timeout_ms: z
      .number()
      .int()
      .min(1)
      .max(3_600_000)
      .default(30_000)
      .describe(
        'Longest wait for the upstream response headers (ms), counted from the request\'s arrival (time queued for a connection counts; upload progress restarts it); exceeded -> 504 page.',
      ),
    idle_timeout_ms: z
      .number()
      .int()
      .min(0)
      .max(3_600_000)
      .default(300_000)
      .describe('Longest silence between two chunks of an upstream response body (ms, 0 = no limit); exceeded -> connection closed.'),
    preserve_host: z.boolean().default(false).describe('Send the client Host header upstream instead of the upstream URL host.'),
    max_connections: z.number().int().min(1).max(10_000).default(256).describe('Most keep-alive connections to this upstream (count); further requests queue.'),
    max_queued_requests: z
      .number()
      .int()
      .min(0)
      .max(100_000)
      .default(DEFAULT_MAX_QUEUED_REQUESTS)
      .describe('Most requests waiting for a free upstream connection (count, 0 = no queue); beyond it -> 503 upstream_queue_full with Retry-After.'),
    max_requests_per_client: z
      .number()
      .int()
      .min(1)
      .max(100_000)
      .default(DEFAULT_MAX_REQUESTS_PER_CLIENT)
      .describe('Most requests one client address (IPv6: one /64) may have in flight to this app (queued, upstream, or a WebSocket handshake; an open tunnel does not count); beyond it -> 429 client_concurrency_limit with Retry-After.'),
  })
  .transform((app) => proxyAppOptionsOf(app));

/** The snake_case app fields of the config file (apps[] carries the same ones) as `createProxy` takes them. */
export function proxyAppOptionsOf(app: {
  name: string;
  upstream: string;
  connect_timeout_ms: number;
  response_timeout_ms: number;
  idle_timeout_ms: number;
  preserve_host: boolean;
  max_connections: number;
  max_queued_requests: number;
  max_requests_per_client: number;
}): ProxyAppOptions {
  return {
    name: app.name,
    upstream: app.upstream,
    connectTimeoutMs: app.connect_timeout_ms,
    responseTimeoutMs: app.response_timeout_ms,
    idleTimeoutMs: app.idle_timeout_ms,
    preserveHost: app.preserve_host,
    maxConnections: app.max_connections,
    maxQueuedRequests: app.max_queued_requests,
    maxRequestsPerClient: app.max_requests_per_client,
  };
}

/** An app as `createProxy` takes it (the composition root passes the parsed config). */
export interface ProxyAppOptions {
  name: string;
  upstream: string;
  connectTimeoutMs?: number;
  responseTimeoutMs?: number;
  idleTimeoutMs?: number;
  preserveHost?: boolean;
  maxConnections?: number;
  maxQueuedRequests?: number;
  maxRequestsPerClient?: number;
}

export type ResolvedProxyApp = Required<ProxyAppOptions>;

/** Validates the app list at start-up or reload (programmer/config error): throws naming the path. */
export function resolveProxyApps(apps: readonly ProxyAppOptions[]): ResolvedProxyApp[] {
  const seen = new Set<string>();
  return apps.map((app, index) => {
    const result = proxyAppConfigSchema.safeParse({
      name: app?.name,
      upstream: app?.upstream,
      connect_timeout_ms: app?.connectTimeoutMs,
      response_timeout_ms: app?.responseTimeoutMs,
      idle_timeout_ms: app?.idleTimeoutMs,
      preserve_host: app?.preserveHost,
      max_connections: app?.maxConnections,
      max_queued_requests: app?.maxQueuedRequests,
      max_requests_per_client: app?.maxRequestsPerClient,
    });
    if (!result.success) {
      const issue = result.error.issues[0]!;
      throw new TypeError(`apps[${index}].${issue.path.join('.')}: ${issue.message}`);
    }
    if (seen.has(result.data.name)) throw new TypeError(`apps[${index}].name: duplicate app ${JSON.stringify(result.data.name)}`);
    seen.add(result.data.name);
    return result.data as ResolvedProxyApp;
  });
}
