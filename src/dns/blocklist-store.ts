/**
 * The gateway's lists: blocklist sources (file or URL) each held as a CompactDomainSet, the allowlist,
 * and dynamic blocks added at run time (incident response, change feed). A refresh builds a new set
 * and swaps it in; when a source cannot be read or yields no names, the last good copy stays
 * (fail closed: a broken mirror must not silently unblock everything). Each failure carries a stable
 * code, so the gateway can refuse to start on a local file it cannot read.
 */
import { open } from 'node:fs/promises';
import { InputError } from '../lib/errors.js';
import { emptyParseStats, parseBlocklist, type BlocklistFormat, type BlocklistParseStats } from './blocklist-parser.js';
import { CompactDomainSet, CompactDomainSetBuilder } from './compact-domain-set.js';
import type { DomainHasher } from './domain-hash.js';
import { normaliseDomainName } from './domain-name.js';

const CHUNK_BYTES = 1 << 20;
const MAX_LINE_BYTES = 64 * 1024;

export interface BlocklistSourceConfig {
  name: string;
  path?: string;
  url?: string;
  format: BlocklistFormat;
  refreshIntervalS: number;
  /** RFC 8914 INFO-CODE for names blocked by this list (15 Blocked, 17 Filtered). */
  infoCode: number;
}

export interface BlocklistSourceState {
  name: string;
  location: string;
  entries: number;
  loadedAt: number | null;
  loadMs: number | null;
  stats: BlocklistParseStats | null;
  lastAttemptAt: number | null;
  lastError: string | null;
  /** Stable code of `lastError`: `dns_blocklist_unreadable` (a file that cannot be opened or read), `dns_blocklist_empty`, `dns_blocklist_fetch_failed`, `dns_blocklist_too_large`. */
  lastErrorCode: string | null;
  bytes: number;
}

/** A load failure with the stable code recorded in the source's state. */
class BlocklistLoadError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** `cannot read <path>: ENOENT: no such file or directory`: the path once, then the OS reason. */
function unreadable(path: string, error: unknown): BlocklistLoadError {
  // Node appends the syscall (and for open the path): `ENOENT: no such file or directory, open '/x'`.
  const reason = (error as Error).message.replace(/, \w+( '[^']*')?$/, '');
  return new BlocklistLoadError('dns_blocklist_unreadable', `cannot read ${path}: ${reason}`);
}

export interface DynamicBlock {
  name: string;
  reason: string;
  addedAt: number;
}

export interface BlocklistStoreOptions {
  sources: BlocklistSourceConfig[];
  allowlist: string[];
  hasher: DomainHasher;
  now: () => number;
  maxSourceBytes: number;
  fetchTimeoutMs: number;
  onChange?: () => void;
}

/** Builds a set from plain names, as the allowlist and dynamic blocks are (`*.name` = subdomains only). */
export function buildNameSet(names: Iterable<string>, hasher: DomainHasher): CompactDomainSet {
  const builder = new CompactDomainSetBuilder(64);
  for (const raw of names) {
    const wildcard = raw.startsWith('*.');
    const bytes = Buffer.from(normaliseDomainName(wildcard ? raw.slice(2) : raw), 'latin1');
    hasher.hashName(bytes, 0, bytes.length, wildcard);
    builder.add(hasher.hi, hasher.lo);
  }
  return builder.build();
}

export class BlocklistStore {
  /** Indexed like `options.sources`; each slot is replaced whole on refresh. */
  readonly sets: CompactDomainSet[];
  readonly states: BlocklistSourceState[];
  allowlist: CompactDomainSet;
  dynamicSet: CompactDomainSet = CompactDomainSet.empty;
  private readonly dynamic = new Map<string, DynamicBlock>();

  constructor(private readonly options: BlocklistStoreOptions) {
    this.sets = options.sources.map(() => CompactDomainSet.empty);
    this.states = options.sources.map((source) => ({
      name: source.name,
      location: source.path ?? source.url ?? '',
      entries: 0,
      loadedAt: null,
      loadMs: null,
      stats: null,
      lastAttemptAt: null,
      lastError: null,
      lastErrorCode: null,
      bytes: 0,
    }));
    this.allowlist = buildNameSet(options.allowlist, options.hasher);
  }

  get sources(): readonly BlocklistSourceConfig[] {
    return this.options.sources;
  }

  indexOf(name: string): number {
    return this.options.sources.findIndex((source) => source.name === name);
  }

  /**
   * Streams a source through the parser in 1 MiB pieces: the whole body (tens of MB for a large list)
   * is never held in memory, which keeps the resident size after a load close to the set itself.
   */
  private async loadSource(source: BlocklistSourceConfig): Promise<{ set: CompactDomainSet; stats: BlocklistParseStats; bytes: number }> {
    const builder = new CompactDomainSetBuilder();
    const stats = emptyParseStats();
    const limit = this.options.maxSourceBytes;
    // One working buffer: the unparsed tail of a piece moves to its front and the next read fills the rest.
    const work = Buffer.allocUnsafe(CHUNK_BYTES + MAX_LINE_BYTES);
    let carried = 0;
    let total = 0;
    const parse = (filled: number, final: boolean) => {
      const { consumed } = parseBlocklist(work.subarray(0, filled), source.format, this.options.hasher, builder, stats, { final, atStart: total === filled });
      carried = filled - consumed;
      if (carried > MAX_LINE_BYTES) {
        // A line longer than any name can be is dropped rather than buffered.
        stats.invalid++;
        carried = 0;
      } else if (carried > 0) {
        work.copyWithin(0, consumed, filled);
      }
    };
    const account = (bytes: number) => {
      total += bytes;
      if (total > limit) throw new BlocklistLoadError('dns_blocklist_too_large', `source is larger than ${limit} bytes`);
    };
    if (source.path !== undefined) {
      const file = await open(source.path, 'r').catch((error: unknown) => { throw unreadable(source.path!, error); });
      try {
        for (;;) {
          const { bytesRead } = await file.read(work, carried, CHUNK_BYTES, null).catch((error: unknown) => { throw unreadable(source.path!, error); });
          if (bytesRead === 0) break;
          account(bytesRead);
          parse(carried + bytesRead, false);
        }
      } finally {
        await file.close();
      }
    } else {
      const response = await fetch(source.url!, { signal: AbortSignal.timeout(this.options.fetchTimeoutMs), redirect: 'follow' });
      if (response.status !== 200 || !response.body) throw new BlocklistLoadError('dns_blocklist_fetch_failed', `HTTP status ${response.status}`);
      for await (const piece of response.body) {
        account(piece.length);
        for (let offset = 0; offset < piece.length; ) {
          const take = Math.min(CHUNK_BYTES, piece.length - offset);
          work.set(piece.subarray(offset, offset + take), carried);
          offset += take;
          parse(carried + take, false);
        }
      }
    }
    parse(carried, true);
    return { set: builder.build(), stats, bytes: total };
  }

  /** Reloads one source; on any failure keeps the previous set and records the error. */
  async refresh(index: number): Promise<BlocklistSourceState> {
    const source = this.options.sources[index];
    const state = this.states[index];
    if (!source || !state) throw new Error(`no blocklist source #${index}`);
    const started = this.options.now();
    state.lastAttemptAt = started;
    try {
      const { set, stats, bytes } = await this.loadSource(source);
      if (stats.entries === 0) throw new BlocklistLoadError('dns_blocklist_empty', `no ${source.format} entries in ${bytes} bytes (${stats.invalid} invalid lines)`);
      this.sets[index] = set;
      Object.assign(state, {
        entries: this.sets[index]!.size,
        loadedAt: this.options.now(),
        loadMs: this.options.now() - started,
        stats,
        lastError: null,
        lastErrorCode: null,
        bytes: this.sets[index]!.byteLength,
      });
      this.options.onChange?.();
    } catch (error) {
      state.lastError = (error as Error).message;
      if (error instanceof BlocklistLoadError) state.lastErrorCode = error.code;
      else state.lastErrorCode = source.path !== undefined ? 'dns_blocklist_unreadable' : 'dns_blocklist_fetch_failed';
    }
    return { ...state };
  }

  async refreshAll(): Promise<BlocklistSourceState[]> {
    const results: BlocklistSourceState[] = [];
    // One at a time: parsing is CPU-bound, so parallel loads only raise peak memory.
    for (let i = 0; i < this.options.sources.length; i++) results.push(await this.refresh(i));
    return results;
  }

  blockDomain(name: string, reason: string): DynamicBlock {
    const normalised = normaliseDomainName(name);
    if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) {
      throw new InputError('dns block reason must be 1-500 characters', 'dns_invalid_reason');
    }
    const block = { name: normalised, reason, addedAt: this.options.now() };
    this.dynamic.set(normalised, block);
    this.dynamicSet = buildNameSet(this.dynamic.keys(), this.options.hasher);
    this.options.onChange?.();
    return block;
  }

  unblockDomain(name: string): boolean {
    const normalised = normaliseDomainName(name);
    const removed = this.dynamic.delete(normalised);
    if (removed) {
      this.dynamicSet = buildNameSet(this.dynamic.keys(), this.options.hasher);
      this.options.onChange?.();
    }
    return removed;
  }

  /**
   * Replaces every dynamic block at once (a change feed that hands over the full current set). Names are
   * all validated before anything changes, so a bad entry leaves the previous set in place.
   */
  replaceDynamicBlocks(blocks: readonly { name: string; reason: string }[]): void {
    const next = new Map<string, DynamicBlock>();
    const now = this.options.now();
    for (const block of blocks) {
      const name = normaliseDomainName(block.name);
      if (typeof block.reason !== 'string' || block.reason.length === 0 || block.reason.length > 500) {
        throw new InputError(`dns block reason for ${name} must be 1-500 characters`, 'dns_invalid_reason');
      }
      next.set(name, { name, reason: block.reason, addedAt: this.dynamic.get(name)?.addedAt ?? now });
    }
    this.dynamic.clear();
    for (const [name, block] of next) this.dynamic.set(name, block);
    this.dynamicSet = buildNameSet(this.dynamic.keys(), this.options.hasher);
    this.options.onChange?.();
  }

  /** The dynamic block covering `name` (itself or its closest listed parent). */
  dynamicBlockFor(name: string): DynamicBlock | undefined {
    let candidate = name;
    for (;;) {
      const block = this.dynamic.get(candidate);
      if (block) return block;
      const dot = candidate.indexOf('.');
      if (dot < 0) return undefined;
      candidate = candidate.slice(dot + 1);
    }
  }

  listDynamic(): DynamicBlock[] {
    return [...this.dynamic.values()].map((block) => ({ ...block }));
  }
}
