import { request, type Dispatcher } from 'undici';
import { NonPublicAddressError } from './public-only-agent.js';

export type FetchFailureCode = 'timeout' | 'network' | 'too_large' | 'too_many_redirects' | 'bad_redirect' | 'unsupported_url' | 'non_public_address';

export type CappedFetchResult =
  | { kind: 'response'; status: number; headers: Record<string, string | string[] | undefined>; body: Buffer; url: string }
  | { kind: 'failure'; code: FetchFailureCode; detail: string; url: string };

export interface CappedFetchOptions {
  /** Largest body read; a bigger one (declared or actual) is a `too_large` failure. */
  maxBytes: number;
  /** Whole exchange, redirects included. */
  timeoutMs: number;
  maxRedirects: number;
  accept: string;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function failure(code: FetchFailureCode, detail: string, url: string): CappedFetchResult {
  return { kind: 'failure', code, detail, url };
}

function isTimeout(error: unknown, signal: AbortSignal): boolean {
  const code = (error as { code?: unknown }).code;
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') return true;
  return signal.aborted && (signal.reason as { name?: unknown } | undefined)?.name === 'TimeoutError';
}

async function readCapped(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    total += buffer.length;
    if (total > maxBytes) {
      // Stop reading at once: a hostile server must not make us buffer an unbounded body.
      body.destroy();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * GET over http(s) that never buffers more than `maxBytes`, never waits longer than `timeoutMs`,
 * follows a bounded number of redirects (RFC 7480 §5.2) without https -> http downgrade, and turns
 * every failure into a value instead of a throw.
 */
export async function fetchCapped(startUrl: string, options: CappedFetchOptions): Promise<CappedFetchResult> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let url: URL;
  try {
    url = new URL(startUrl);
  } catch {
    return failure('unsupported_url', 'not a URL', startUrl);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return failure('unsupported_url', `scheme ${url.protocol}`, startUrl);

  for (let hop = 0; ; hop += 1) {
    try {
      const response = await request(url, {
        method: 'GET',
        headers: { accept: options.accept, 'user-agent': 'gatehouse' },
        signal,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      const { statusCode, headers, body } = response;
      if (REDIRECTS.has(statusCode)) {
        await body.dump({ limit: 64 * 1024 }).catch(() => undefined);
        const location = headers.location;
        if (typeof location !== 'string') return failure('bad_redirect', `${statusCode} without Location`, url.href);
        if (hop >= options.maxRedirects) return failure('too_many_redirects', `more than ${options.maxRedirects}`, url.href);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return failure('bad_redirect', 'unparsable Location', url.href);
        }
        if (next.protocol !== 'https:' && next.protocol !== 'http:') return failure('bad_redirect', `scheme ${next.protocol}`, url.href);
        // A redirect must not strip TLS: an on-path attacker could then forge the answer.
        if (url.protocol === 'https:' && next.protocol === 'http:') return failure('bad_redirect', 'https to http downgrade', url.href);
        url = next;
        continue;
      }
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        body.destroy();
        return failure('too_large', `content-length ${declared} > ${options.maxBytes}`, url.href);
      }
      const bytes = await readCapped(body, options.maxBytes);
      if (!bytes) return failure('too_large', `body > ${options.maxBytes} bytes`, url.href);
      return { kind: 'response', status: statusCode, headers, body: bytes, url: url.href };
    } catch (error) {
      // Refused by a public-only dispatcher: on the first URL or on any redirect target.
      if (error instanceof NonPublicAddressError) return failure('non_public_address', error.message, url.href);
      if (isTimeout(error, signal)) return failure('timeout', `no complete answer within ${options.timeoutMs} ms`, url.href);
      return failure('network', (error as Error).message || String(error), url.href);
    }
  }
}
