import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { isGatehouseError } from '../../lib/errors.js';
import { fetchCapped } from './fetch-capped.js';
import { parseRdapBootstrap, type RdapBootstrap } from './rdap-bootstrap.js';

export type BootstrapRefreshResult =
  | { ok: true; publication: string | undefined; entryCount: number }
  | { ok: false; code: 'rdap_bootstrap_fetch_failed' | 'rdap_bootstrap_invalid' | 'rdap_bootstrap_stale'; detail: string };

export interface RdapBootstrapSourceOptions {
  /** Starting copy (the shipped snapshot). */
  initial: RdapBootstrap;
  url: string;
  refreshHours: number;
  timeoutMs: number;
  /** Optional file holding the last good download, read at creation and written after each refresh. */
  cacheFile?: string;
  dispatcher?: Dispatcher;
  onResult?: (result: BootstrapRefreshResult) => void;
}

export interface RdapBootstrapSource {
  current(): RdapBootstrap;
  refresh(): Promise<BootstrapRefreshResult>;
  start(): void;
  /** Stops the timer and waits for a refresh in progress. */
  stop(): Promise<void>;
}

/** IANA's file is ~100 KB; anything near this is not a bootstrap file. */
const MAX_BOOTSTRAP_BYTES = 4 * 1024 * 1024;

function publishedAt(bootstrap: RdapBootstrap): number {
  const at = bootstrap.publication ? Date.parse(bootstrap.publication) : Number.NaN;
  return Number.isFinite(at) ? at : 0;
}

function readCacheFile(path: string): RdapBootstrap | undefined {
  try {
    return parseRdapBootstrap(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return undefined; // a missing or damaged cache file just means "start from the snapshot"
  }
}

/**
 * The RFC 9224 bootstrap in use, refreshed from IANA when reachable. A failed or invalid download
 * keeps the last good copy, and an older publication never replaces a newer one (a replayed old file
 * must not point TLDs back at retired servers).
 */
export function createRdapBootstrapSource(options: RdapBootstrapSourceOptions): RdapBootstrapSource {
  let current = options.initial;
  const cached = options.cacheFile ? readCacheFile(options.cacheFile) : undefined;
  if (cached && publishedAt(cached) > publishedAt(current)) current = cached;
  let timer: NodeJS.Timeout | undefined;

  async function refresh(): Promise<BootstrapRefreshResult> {
    const response = await fetchCapped(options.url, {
      accept: 'application/json',
      maxBytes: MAX_BOOTSTRAP_BYTES,
      timeoutMs: options.timeoutMs,
      maxRedirects: 3,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    });
    if (response.kind === 'failure') return { ok: false, code: 'rdap_bootstrap_fetch_failed', detail: `${response.code}: ${response.detail}` };
    if (response.status !== 200) return { ok: false, code: 'rdap_bootstrap_fetch_failed', detail: `HTTP ${response.status}` };
    let next: RdapBootstrap;
    try {
      next = parseRdapBootstrap(JSON.parse(response.body.toString('utf8')));
    } catch (error) {
      return { ok: false, code: 'rdap_bootstrap_invalid', detail: isGatehouseError(error) ? (error.detail ?? error.code) : (error as Error).message };
    }
    if (publishedAt(next) < publishedAt(current)) {
      return { ok: false, code: 'rdap_bootstrap_stale', detail: `publication ${next.publication} is older than ${current.publication}` };
    }
    current = next;
    if (options.cacheFile) {
      const temporary = `${options.cacheFile}.${process.pid}.tmp`;
      // Write then rename: a crash mid-write must not leave a truncated "last good copy".
      await writeFile(temporary, response.body)
        .then(() => rename(temporary, options.cacheFile as string))
        .catch(() => undefined);
    }
    return { ok: true, publication: next.publication, entryCount: next.entryCount };
  }

  let running: Promise<BootstrapRefreshResult> | undefined;
  const reportingRefresh = (): Promise<BootstrapRefreshResult> => {
    running ??= refresh()
      .then((result) => {
        try {
          options.onResult?.(result);
        } catch {
          // A failing log hook must not turn into an unhandled rejection of a timer refresh.
        }
        return result;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  return {
    current: () => current,
    refresh: reportingRefresh,
    start() {
      if (timer) return;
      void reportingRefresh();
      timer = setInterval(() => void reportingRefresh(), options.refreshHours * 3_600_000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running;
    },
  };
}
