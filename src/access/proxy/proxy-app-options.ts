import { z } from 'zod';
import { appUpstreamFields } from '../../config/index.js';

const upstreamUrl = z
  .url({ protocol: /^https?$/ })
  .refine((value) => {
    // Runs even when the URL check above failed: must not throw on garbage.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  }, 'upstream must be an http(s) origin, optionally with a path prefix, without query, fragment or credentials');

/**
 * One app as the proxy checks it: its name, its upstream and the config's upstream fields (the same
 * definitions as `apps[]`). `.transform` yields the camelCase `ProxyAppOptions`.
 */
export const proxyAppConfigSchema = z
  .strictObject({
    name: z.string().min(1).max(100).describe('App name: the `aud` of the identity assertion and the key requests are forwarded by.'),
    upstream: upstreamUrl.describe('Upstream base URL, e.g. http://127.0.0.1:8080 or http://wiki.internal:3000/base.'),
    ...appUpstreamFields,
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
