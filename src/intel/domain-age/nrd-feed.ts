import { readFile, stat } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { fetchCapped } from './fetch-capped.js';
import { registrableDomainOf } from './registrable-domain.js';

export interface ParsedDomainFeed {
  /** Registrable domains, A-label form, de-duplicated. */
  domains: string[];
  rejectedCount: number;
  /** First few rejected lines (1-based line number and text), for the operator. */
  rejectedSamples: { line: number; text: string }[];
}

export type DomainFeedLoad =
  | ({ ok: true; source: string } & ParsedDomainFeed)
  | { ok: false; source: string; code: 'nrd_feed_unreadable' | 'nrd_feed_too_large' | 'nrd_feed_http_status' | 'nrd_feed_fetch_failed'; detail: string };

const SINK_ADDRESSES = new Set(['0.0.0.0', '127.0.0.1', '::', '::1']);
const MAX_SAMPLES = 5;

/**
 * One name per line; `#` starts a comment; hosts-file lines (`0.0.0.0 name`) are accepted. Only
 * registrable domains are taken: a feed line `www.google.com` must not mark `google.com` as new.
 */
export function parseDomainFeed(text: string): ParsedDomainFeed {
  const domains = new Set<string>();
  const rejectedSamples: { line: number; text: string }[] = [];
  let rejectedCount = 0;
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index += 1) {
    const raw = lines[index] ?? '';
    const content = raw.replace(/#.*/, '').trim();
    if (!content) continue;
    const tokens = content.split(/[\s,]+/);
    const candidate = tokens.length > 1 && SINK_ADDRESSES.has(tokens[0] ?? '') ? tokens[1] : tokens[0];
    const registrable = candidate ? registrableDomainOf(candidate) : undefined;
    if (registrable && registrable === candidate?.toLowerCase().replace(/\.$/, '')) {
      domains.add(registrable);
    } else {
      rejectedCount += 1;
      if (rejectedSamples.length < MAX_SAMPLES) rejectedSamples.push({ line: index + 1, text: raw.slice(0, 200) });
    }
  }
  return { domains: [...domains], rejectedCount, rejectedSamples };
}

/** Reads a feed from a file path or an http(s) URL, never more than `maxBytes`. */
export async function loadDomainFeed(
  source: string,
  options: { maxBytes: number; timeoutMs: number; dispatcher?: Dispatcher },
): Promise<DomainFeedLoad> {
  let text: string;
  if (/^https?:\/\//i.test(source)) {
    const result = await fetchCapped(source, {
      accept: 'text/plain, */*;q=0.5',
      maxBytes: options.maxBytes,
      timeoutMs: options.timeoutMs,
      maxRedirects: 3,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    if (result.kind === 'failure') {
      const code = result.code === 'too_large' ? 'nrd_feed_too_large' : 'nrd_feed_fetch_failed';
      return { ok: false, source, code, detail: `${result.code}: ${result.detail}` };
    }
    if (result.status !== 200) return { ok: false, source, code: 'nrd_feed_http_status', detail: `HTTP ${result.status}` };
    text = result.body.toString('utf8');
  } else {
    try {
      const info = await stat(source);
      if (info.size > options.maxBytes) {
        return { ok: false, source, code: 'nrd_feed_too_large', detail: `${info.size} bytes > ${options.maxBytes}` };
      }
      text = await readFile(source, 'utf8');
    } catch (error) {
      return { ok: false, source, code: 'nrd_feed_unreadable', detail: (error as Error).message };
    }
  }
  return { ok: true, source, ...parseDomainFeed(text) };
}
