/**
 * Timing for the console bench: pages through the running Gatehouse's fastify app (`inject`: the
 * server's own time, routing, gate, queries and rendering, without a socket), queries straight on its
 * store. Rounds are interleaved (every target once per round) so load from elsewhere on a shared
 * machine hits every target alike instead of whichever one happened to run at the time.
 */
import type { Kysely } from 'kysely';
import type { RunningGatehouse } from '../../src/main.js';
import type { Database, Dialect } from '../../src/store/index.js';
import type { GeneratedConsoleData } from './generate-console-data.js';

/** A page of the console (or the portal page used as the baseline), as the admin's browser asks for it. */
export interface PageTarget {
  label: string;
  path: (data: GeneratedConsoleData) => string;
  /** A reference row (what a trivial page costs here), not held to the target. */
  baseline?: boolean;
}

/** A query run on the store directly: a baseline, or the naive form of what a page does with a rollup. */
export interface QueryTarget {
  label: string;
  /** Undefined: a slot, printed as "not wired", for a query that lands with another page. */
  run: ((db: Kysely<Database>, dialect: Dialect, now: number, data: GeneratedConsoleData) => Promise<unknown>) | undefined;
  kind: 'baseline' | 'naive';
}

export interface Timing {
  label: string;
  path?: string;
  kind: 'page' | 'baseline' | 'naive';
  /** `ok`, `not built` (404), `not wired` (an empty slot) or `status N` (anything else: a bug to look at). */
  state: string;
  samples: number[];
  bytes?: number;
}

export const quantile = (values: readonly number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
};

export interface PageClient {
  gatehouse: RunningGatehouse;
  host: string;
  cookie: string;
}

async function getPage(client: PageClient, path: string): Promise<{ status: number; bytes: number; ms: number }> {
  const started = performance.now();
  const reply = await client.gatehouse.inject({ method: 'GET', url: path, headers: { host: client.host, cookie: client.cookie, accept: 'text/html' } });
  const ms = performance.now() - started;
  return { status: reply.statusCode, bytes: reply.rawPayload.length, ms };
}

/** Warms every page up, drops the ones not built (404), then times `requests` interleaved rounds. */
export async function timePages(client: PageClient, pages: readonly PageTarget[], data: GeneratedConsoleData, options: { requests: number; warmup: number }): Promise<Timing[]> {
  const timings: Timing[] = [];
  for (const page of pages) {
    const path = page.path(data);
    const first = await getPage(client, path);
    const timing: Timing = { label: page.label, path, kind: page.baseline ? 'baseline' : 'page', state: first.status === 200 ? 'ok' : first.status === 404 ? 'not built' : `status ${first.status}`, samples: [], bytes: first.bytes };
    if (first.status === 303 || first.status === 401 || first.status === 403) throw new Error(`${path} answered ${first.status}: the bench's admin session is not accepted`);
    timings.push(timing);
    if (timing.state === 'ok') for (let i = 1; i < options.warmup; i++) await getPage(client, path);
  }
  const live = timings.filter((t) => t.state === 'ok');
  for (let round = 0; round < options.requests; round++) {
    for (const timing of round % 2 === 0 ? live : [...live].reverse()) {
      const { status, ms } = await getPage(client, timing.path!);
      if (status !== 200) timing.state = `status ${status}`;
      timing.samples.push(ms);
    }
  }
  return timings;
}

/** Times each query `repeats` times (interleaved, after one warm-up run each). */
export async function timeQueries(db: Kysely<Database>, dialect: Dialect, now: number, data: GeneratedConsoleData, queries: readonly QueryTarget[], repeats: number): Promise<Timing[]> {
  const timings = queries.map((q): Timing => ({ label: q.label, kind: q.kind, state: q.run ? 'ok' : 'not wired', samples: [] }));
  for (const q of queries) await q.run?.(db, dialect, now, data);
  for (let round = 0; round < repeats; round++) {
    for (const [i, q] of queries.entries()) {
      if (!q.run) continue;
      const started = performance.now();
      await q.run(db, dialect, now, data);
      timings[i]!.samples.push(performance.now() - started);
    }
  }
  return timings;
}

/** The table for one engine: median and p99 against the target, PASS/MISS for pages, references marked. */
export function formatTable(engine: string, timings: readonly Timing[], target: { medianMs: number; p99Ms: number }): string {
  const rows = timings.map((t) => {
    const p50 = quantile(t.samples, 0.5);
    const p99 = quantile(t.samples, 0.99);
    const meets = p50 <= target.medianMs && p99 <= target.p99Ms;
    const result = t.state !== 'ok' ? t.state : t.kind === 'page' ? (meets ? 'PASS' : 'MISS') : `${t.kind} (${meets ? 'within' : 'outside'} target)`;
    const ms = (v: number) => (Number.isNaN(v) ? '-' : v.toFixed(1));
    return [t.label, t.path ?? '(query on the store)', ms(p50), ms(p99), String(t.samples.length || '-'), t.bytes !== undefined && t.state === 'ok' ? `${Math.round(t.bytes / 1024)} KiB` : '-', result];
  });
  const header = ['page or query', 'path', 'median ms', 'p99 ms', 'n', 'size', `≤${target.medianMs} / ≤${target.p99Ms} ms`];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (i >= 2 && i <= 5 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [`${engine}:`, line(header), `|${widths.map((w, i) => (i >= 2 && i <= 5 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`, ...rows.map(line)].join('\n');
}
