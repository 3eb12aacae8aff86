import type { Clock } from '../../lib/clock.js';
import { fetchCapped, type FetchFailureCode } from './fetch-capped.js';
import { createPublicOnlyAgent, type PublicOnlyAgentOptions } from './public-only-agent.js';
import { parseRdapDomainResponse } from './rdap-domain-response.js';
import type { RdapErrorCode, RdapLookupOutcome } from './rdap-lookup-outcome.js';

export interface RdapClientOptions {
  /** RDAP base URL (ending in `/`) for a registrable domain, or undefined when there is none. */
  baseUrlFor(domain: string): string | undefined;
  clock: Clock;
  timeoutMs: number;
  maxResponseBytes: number;
  maxRedirects: number;
  /**
   * Pause of one server after an HTTP 429: `defaultMs` without Retry-After, never longer than `maxMs`.
   * Default 10 s and 60 s.
   */
  backoff?: { defaultMs: number; maxMs: number };
  /**
   * How connections are made. Every RDAP request and redirect goes through a public-only agent: the
   * server URL comes from a downloaded bootstrap and redirects from the server, neither of which may
   * point the gateway at its own network. Only tests set `allowNonPublic`.
   */
  connection?: PublicOnlyAgentOptions;
}

export interface RdapClient {
  /** An RDAP service is listed for the domain's TLD (no request made). */
  hasServer(domain: string): boolean;
  /** Milliseconds the domain's server is still paused after a 429 (0: not paused); no request made. */
  pausedFor(domain: string): number;
  /** `domain` must already be a validated registrable domain in A-label form. */
  lookupDomain(domain: string): Promise<RdapLookupOutcome>;
}

const FAILURE_CODES: Record<FetchFailureCode, RdapErrorCode> = {
  timeout: 'rdap_timeout',
  network: 'rdap_network',
  too_large: 'rdap_too_large',
  too_many_redirects: 'rdap_too_many_redirects',
  bad_redirect: 'rdap_bad_redirect',
  unsupported_url: 'rdap_network',
  non_public_address: 'rdap_non_public_address',
};

const DEFAULT_BACKOFF = { defaultMs: 10_000, maxMs: 60_000 };

/**
 * RFC 9110 §10.2.3 Retry-After: delay-seconds or an HTTP-date. Capped at `maxMs`: while a server is
 * paused every new domain under it is "unknown" (allowed by default), so anyone able to provoke a 429
 * would otherwise switch the age check off for as long as the server asks.
 */
function retryAfterMs(header: string | string[] | undefined, now: number, backoff: { defaultMs: number; maxMs: number }): number {
  const value = Array.isArray(header) ? header[0] : header;
  const fallback = Math.min(backoff.defaultMs, backoff.maxMs);
  if (value === undefined) return fallback;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return fallback;
  return Math.min(Math.max(ms, 1000), backoff.maxMs);
}

/**
 * RDAP domain queries (RFC 7482 §3.1.3 `{base}domain/{name}`, RFC 7480 HTTP usage). A 429 from a
 * server pauses every query to that server (that origin only; other registries are still asked) until
 * its Retry-After has passed, capped (RFC 7480 §5.5), so a burst of DNS queries does not get the
 * gateway banned by a registry.
 */
export function createRdapClient(options: RdapClientOptions): RdapClient {
  const { clock } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const dispatcher = createPublicOnlyAgent({ connectTimeoutMs: options.timeoutMs, ...options.connection });
  const pausedUntil = new Map<string, number>();

  return {
    hasServer: (domain) => options.baseUrlFor(domain) !== undefined,
    pausedFor(domain) {
      const base = options.baseUrlFor(domain);
      const until = base === undefined ? undefined : pausedUntil.get(new URL(base).origin);
      return until === undefined ? 0 : Math.max(0, until - clock.now());
    },
    async lookupDomain(domain) {
      const base = options.baseUrlFor(domain);
      if (!base) return { status: 'no_server', domain };
      const serverUrl = new URL(`domain/${encodeURIComponent(domain)}`, base).href;
      const origin = new URL(base).origin;
      const paused = pausedUntil.get(origin);
      if (paused !== undefined) {
        if (paused > clock.now()) {
          return { status: 'error', domain, serverUrl, code: 'rdap_rate_limited', detail: `${origin} asked us to wait`, retryAfterMs: paused - clock.now() };
        }
        pausedUntil.delete(origin);
      }

      const result = await fetchCapped(serverUrl, {
        accept: 'application/rdap+json, application/json;q=0.9',
        timeoutMs: options.timeoutMs,
        maxBytes: options.maxResponseBytes,
        maxRedirects: options.maxRedirects,
        dispatcher,
      });
      if (result.kind === 'failure') {
        return { status: 'error', domain, serverUrl, code: FAILURE_CODES[result.code], detail: result.detail };
      }
      const { status } = result;
      if (status === 404) return { status: 'not_found', domain, serverUrl };
      if (status === 429) {
        const wait = retryAfterMs(result.headers['retry-after'], clock.now(), backoff);
        pausedUntil.set(origin, clock.now() + wait);
        return { status: 'error', domain, serverUrl, code: 'rdap_rate_limited', detail: `429 from ${origin}`, retryAfterMs: wait };
      }
      if (status >= 500) return { status: 'error', domain, serverUrl, code: 'rdap_server_error', detail: `HTTP ${status}` };
      if (status !== 200) return { status: 'error', domain, serverUrl, code: 'rdap_http_status', detail: `HTTP ${status}` };
      return parseRdapDomainResponse(result.body, domain, serverUrl);
    },
  };
}
