import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, InputError } from '../lib/errors.js';
import { commitChange, type Change, type Database, type Store } from '../store/index.js';
import { parseCidr } from '../lib/ip/ip-address.js';
import { compileIpMatcher } from '../lib/ip/ip-matcher.js';

export const IP_FEED = { changed: 'ip_blocks.changed' } as const;

/**
 * Whether a range is too wide for a runtime block: more than an IPv4 /8 (16.7 million addresses, an
 * `::ffff:`-mapped range counted as IPv4) or an IPv6 /16. Threat: `0.0.0.0/0`, `::/0` or a default
 * route pasted into an incident's indicator list refuses every person and every admin at once, the
 * console that would lift it included; no real attacker infrastructure needs a wider block than that.
 */
export function tooWideToBlock(cidr: string): boolean {
  const parsed = parseCidr(cidr);
  if (typeof parsed === 'string') return false;
  // From the prefix length, not the parsed range: a range written with host bits set is not narrower.
  const slash = cidr.indexOf('/');
  const prefix = slash < 0 ? 128 : Number(cidr.slice(slash + 1));
  if (parsed.kind === 4) return cidr.includes(':') ? prefix < 96 + 8 : prefix < 8;
  return prefix < 16;
}

/**
 * Addresses blocked at run time (incident response, `gatehouse ip block`), applied before any app
 * policy on every instance: the block is written with a feed row and each instance recompiles its
 * matcher when the row arrives. Hot path: `isBlocked` reads the compiled matcher only.
 */
export class IpBlocks {
  private matcher: (ip: string) => boolean = () => false;
  private entries: { cidr: string; reason: string; expiresAt: number | undefined }[] = [];
  private readonly loadedListeners = new Set<() => void>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
  ) {}

  isBlocked = (ip: string): boolean => this.matcher(ip);

  async load(): Promise<void> {
    const now = this.clock.now();
    const rows = await this.store.db.selectFrom('ip_blocks').selectAll().execute();
    this.entries = rows
      .filter((row) => row.expires_at === null || Number(row.expires_at) > now)
      .map((row) => ({ cidr: row.cidr, reason: row.reason, expiresAt: row.expires_at === null ? undefined : Number(row.expires_at) }));
    const compiled = compileIpMatcher(this.entries.map((e) => e.cidr));
    this.matcher = (ip) => compiled(ip);
    for (const listener of this.loadedListeners) listener();
  }

  /** Called after every (re)load: what judged a connection once (a tunnel) can judge it again. */
  onLoaded(listener: () => void): () => void {
    this.loadedListeners.add(listener);
    return () => this.loadedListeners.delete(listener);
  }

  list() {
    return [...this.entries];
  }

  async block(cidr: string, input: { reason: string; actor: string; expiresAt?: number; userId?: string; ip?: string }, db: Kysely<Database> = this.store.db): Promise<void> {
    const canonical = canonicalCidr(cidr);
    if (tooWideToBlock(canonical)) {
      await this.audit.record({ type: 'ip.block_refused', outcome: 'failure', code: 'ip_block_too_wide', actor: input.actor, ...(input.userId ? { userId: input.userId } : {}), ...(input.ip ? { ip: input.ip } : {}), detail: { cidr: canonical, reason: input.reason } });
      throw new GatehouseError('ip_block_too_wide', { status: 409, publicMessage: `${canonical} is wider than an IPv4 /8 or an IPv6 /16: a block that wide would refuse almost everyone. Block narrower ranges.`, detail: canonical });
    }
    await commitChange(this.store, {
      db,
      clock: this.clock,
      audit: this.audit,
      write: (trx) =>
        trx
          .insertInto('ip_blocks')
          .values({ cidr: canonical, reason: input.reason, created_at: this.clock.now(), created_by: input.actor, expires_at: input.expiresAt ?? null })
          .onConflict((oc) => oc.column('cidr').doUpdateSet({ reason: input.reason, expires_at: input.expiresAt ?? null }))
          .execute(),
      feed: { kind: IP_FEED.changed, payload: { cidr: canonical } },
      event: { type: 'ip.blocked', outcome: 'success', actor: input.actor, detail: { cidr: canonical, reason: input.reason } },
    });
    await this.load();
  }

  async unblock(cidr: string, actor: string): Promise<boolean> {
    const canonical = canonicalCidr(cidr);
    const removed = await commitChange(this.store, {
      clock: this.clock,
      audit: this.audit,
      write: async (trx) => Number((await trx.deleteFrom('ip_blocks').where('cidr', '=', canonical).executeTakeFirst()).numDeletedRows) > 0,
      feed: { kind: IP_FEED.changed, payload: { cidr: canonical } },
      event: { type: 'ip.unblocked', outcome: 'success', actor, detail: { cidr: canonical } },
    });
    await this.load();
    return removed;
  }

  applyChange(change: Change): void {
    if (change.kind === IP_FEED.changed) void this.load().catch(() => {});
  }
}

function canonicalCidr(text: string): string {
  const trimmed = String(text).trim();
  const value = trimmed.includes('/') ? trimmed : `${trimmed}/${trimmed.includes(':') ? 128 : 32}`;
  const parsed = parseCidr(value);
  if (typeof parsed === 'string') throw new InputError(`${parsed.slice(0, 120)}: give an IP address or CIDR range`, 'invalid_cidr');
  return value.toLowerCase();
}
