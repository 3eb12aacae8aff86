import { GatehouseError } from '../../lib/errors.js';
import type { PathRefusal } from '../policy/index.js';
import type { SmugglingReason } from './reject-smuggling.js';

/** What an error page may say about its request besides the error. */
export interface ErrorPageContext {
  requestId: string | undefined;
  app: string | undefined;
  /** The person whose session the gateway validated before forwarding, so the page can say which account it was. */
  signedInAs?: string | undefined;
}

/** Renders the HTML body of an error page (the portal injects its branded renderer). */
export type ErrorRenderer = (error: GatehouseError, context: ErrorPageContext) => string;

/** Pino-compatible subset: the proxy only reports failures. */
export interface ProxyLogger {
  warn(details: object, message: string): void;
}

export function upstreamUnreachable(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_unreachable', {
    status: 502,
    publicMessage: 'The application is not reachable right now.',
    detail,
    cause,
  });
}

export function upstreamTimeout(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_timeout', {
    status: 504,
    publicMessage: 'The application took too long to answer.',
    detail,
    cause,
  });
}

export function upstreamInvalidResponse(detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError('upstream_invalid_response', {
    status: 502,
    publicMessage: 'The application sent an invalid response.',
    detail,
    cause,
  });
}

/**
 * An overload answer: the request was fine, the app is busy. `retryAfterSeconds` becomes the
 * Retry-After field (RFC 9110 §10.2.3) so well-behaved clients back off instead of hammering.
 */
export class ProxyOverloadError extends GatehouseError {
  constructor(
    code: 'upstream_queue_full' | 'upstream_queue_timeout' | 'client_concurrency_limit',
    options: { status: number; publicMessage: string; detail: string; cause?: unknown },
    readonly retryAfterSeconds: number | undefined,
  ) {
    super(code, options);
    this.name = 'ProxyOverloadError';
  }
}

/** The Retry-After field value for an error page, if the error calls for one. */
export function retryAfterOf(error: GatehouseError): string | undefined {
  return error instanceof ProxyOverloadError && error.retryAfterSeconds !== undefined ? String(error.retryAfterSeconds) : undefined;
}

/** Seconds a client is asked to wait after a 503 for a full queue: bursts drain in well under that. */
export const QUEUE_FULL_RETRY_AFTER_SECONDS = 1;
/** Seconds after a 429: the client's own requests must finish first, which takes longer than a burst. */
export const CLIENT_LIMIT_RETRY_AFTER_SECONDS = 5;

export function upstreamQueueFull(detail: string, cause?: unknown): ProxyOverloadError {
  return new ProxyOverloadError(
    'upstream_queue_full',
    { status: 503, publicMessage: 'The application is busy right now. Please try again in a moment.', detail, cause },
    QUEUE_FULL_RETRY_AFTER_SECONDS,
  );
}

/** RFC 9110 §15.6.5: the gateway gave up waiting; no connection was ever opened for this request. */
export function upstreamQueueTimeout(detail: string, cause?: unknown): ProxyOverloadError {
  return new ProxyOverloadError('upstream_queue_timeout', { status: 504, publicMessage: 'The application took too long to answer.', detail, cause }, undefined);
}

/** RFC 6585 §4: too many requests from this client are in flight at once. */
export function clientConcurrencyLimit(detail: string): ProxyOverloadError {
  return new ProxyOverloadError(
    'client_concurrency_limit',
    { status: 429, publicMessage: 'Too many requests from your device are in progress. Please try again in a moment.', detail },
    CLIENT_LIMIT_RETRY_AFTER_SECONDS,
  );
}

export function requestRefused(reason: SmugglingReason | PathRefusal | 'invalid_upgrade' | 'unknown_app', detail?: string): GatehouseError {
  return new GatehouseError(reason, {
    status: reason === 'unknown_app' ? 404 : 400,
    publicMessage: 'The request was malformed.',
    detail: detail ?? reason,
  });
}

// The upstream pool's and the WebSocket path's codes (upstream-failure.ts), and the socket's own.
const CONNECT_TIMEOUT_CODES = new Set(['UPSTREAM_CONNECT_TIMEOUT', 'ETIMEDOUT']);
const RESPONSE_TIMEOUT_CODES = new Set(['UPSTREAM_RESPONSE_TIMEOUT', 'UPSTREAM_BODY_TIMEOUT']);
const INVALID_RESPONSE_CODES = new Set(['UPSTREAM_INVALID_RESPONSE']);

/** Maps an upstream / socket failure to the page the client sees: timeouts are 504, the rest 502. */
export function classifyUpstreamFailure(error: unknown, app: string): GatehouseError {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  const detail = `app ${app}: ${typeof code === 'string' ? `${code} ` : ''}${message}`;
  if (typeof code === 'string') {
    if (CONNECT_TIMEOUT_CODES.has(code)) return upstreamTimeout(`connect timeout, ${detail}`, error);
    if (RESPONSE_TIMEOUT_CODES.has(code)) return upstreamTimeout(`response timeout, ${detail}`, error);
    if (INVALID_RESPONSE_CODES.has(code)) return upstreamInvalidResponse(detail, error);
    if (code === 'UPSTREAM_QUEUE_FULL') return upstreamQueueFull(detail, error);
    if (code === 'UPSTREAM_QUEUE_TIMEOUT') return upstreamQueueTimeout(detail, error);
  }
  return upstreamUnreachable(detail, error);
}

/** A plain page for when no renderer is injected; the message is public, the detail is never shown. */
export const renderPlainErrorPage: ErrorRenderer = (error, { requestId }) => {
  const title = `${error.status} ${escapeHtml(error.publicMessage)}`;
  const reference = requestId ? `<p>Reference: <code>${escapeHtml(requestId)}</code></p>` : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>${reference}</body></html>`;
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
