import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError } from '../lib/errors.js';
import { commitChange, type Change, type Database, type Store } from '../store/index.js';
import { normaliseDomainName } from './domain-name.js';
import type { GatehouseConfig } from '../config/index.js';
import { keptDomainsOf, neverBlockedBy } from './never-blocked.js';

export const DNS_FEED = { blocksChanged: 'dns.blocks_changed', settingsChanged: 'dns.settings_changed' } as const;
const STRICT_KEY = 'dns.strict_new_domains';
// When and by whom the setting last changed (JSON), beside the on/off value older versions read.
const STRICT_CHANGED_KEY = 'dns.strict_new_domains.changed';

/** Strict new-domain isolation as `dns lists` shows it. */
export interface StrictNewDomainsState {
  on: boolean;
  /** When it last changed (ms), undefined when it never has. */
  since: number | undefined;
  /** Who changed it: `cli`, an admin, or `incident:<id>`. */
  by: string | undefined;
  /** The incident that turned it on, when one did. */
  incident: string | undefined;
}

export interface DomainBlock {
  name: string;
  reason: string;
  createdAt: number;
  createdBy: string | null;
}

/** Who asks for a block, for the audit event of a refusal as of a success. */
export interface BlockRequest {
  reason: string;
  actor: string;
  userId?: string;
  ip?: string;
}

/**
 * Domains blocked at run time (incident response, reports, the console, `gatehouse domain block`).
 * Written with a feed row so every instance's DNS gateway applies the block on its next query;
 * `onChange` hands each instance the full current set to apply.
 *
 * Threat: a block of the portal's own host, a protected domain or a name above one (`com`, the
 * organisation's domain typed by mistake, an attacker's indicator list fed to an incident) cuts every
 * person off sign-in and every admin off the console that would lift it. Every path that blocks comes
 * through `block`, so the rule is here, once: `keptDomains` (keptDomainsOf the live config) are refused.
 */
export class DomainBlocks {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly audit: AuditLog,
    private readonly keptDomains: () => readonly string[],
  ) {}

  /** The kept name (portal, protected, never_block) that `name` is, is under or covers; undefined when none. */
  keptNameCoveredBy(name: string): string | undefined {
    return neverBlockedBy(normaliseDomainName(name), this.keptDomains());
  }

  async list(): Promise<DomainBlock[]> {
    const rows = await this.store.db.selectFrom('domain_blocks').selectAll().orderBy('name').execute();
    return rows.map((r) => ({ name: r.name, reason: r.reason, createdAt: Number(r.created_at), createdBy: r.created_by }));
  }

  /** Blocks names (and their subdomains); idempotent. Returns the names that were newly blocked. */
  async block(names: readonly string[], input: BlockRequest, db: Kysely<Database> = this.store.db): Promise<string[]> {
    // Throws InputError (dns_invalid_domain) naming a bad entry before anything is written.
    const normalised = names.map((raw) => normaliseDomainName(raw));
    // All or nothing: a kept name refuses the whole request before anything is written.
    const kept = this.keptDomains();
    for (const name of normalised) {
      const covers = neverBlockedBy(name, kept);
      if (covers === undefined) continue;
      await this.audit.record({ type: 'dns.block_refused', outcome: 'failure', code: 'dns_domain_never_blocked', actor: input.actor, ...(input.userId ? { userId: input.userId } : {}), ...(input.ip ? { ip: input.ip } : {}), detail: { name, covers, reason: input.reason } });
      throw new GatehouseError('dns_domain_never_blocked', { status: 409, publicMessage: `${name} is the portal's own, a protected or a never-block domain (or covers one): it cannot be blocked.`, detail: `${name} covers or is under ${covers}` });
    }
    return commitChange(this.store, {
      db,
      clock: this.clock,
      audit: this.audit,
      write: async (trx) => {
        const added: string[] = [];
        for (const name of new Set(normalised)) {
          const inserted = await trx
            .insertInto('domain_blocks')
            .values({ name, reason: input.reason.slice(0, 500), created_at: this.clock.now(), created_by: input.actor })
            .onConflict((oc) => oc.column('name').doNothing())
            .returning('name')
            .executeTakeFirst();
          if (inserted) added.push(name);
        }
        return added;
      },
      feed: (added) => ({ kind: DNS_FEED.blocksChanged, payload: { added } }),
      // Blocking what is already blocked changes nothing worth an audit event.
      event: (added) => (added.length > 0 ? { type: 'dns.domains_blocked', outcome: 'success', actor: input.actor, detail: { names: added, reason: input.reason } } : undefined),
    });
  }

  async unblock(names: readonly string[], actor: string): Promise<number> {
    const normalised = names.map((n) => normaliseDomainName(n));
    return commitChange(this.store, {
      clock: this.clock,
      audit: this.audit,
      write: async (trx) => Number((await trx.deleteFrom('domain_blocks').where('name', 'in', normalised).executeTakeFirst()).numDeletedRows),
      feed: { kind: DNS_FEED.blocksChanged, payload: { removed: normalised } },
      event: { type: 'dns.domains_unblocked', outcome: 'success', actor, detail: { names: normalised } },
    });
  }

  /** Strict new-domain isolation: names younger than the threshold are blocked rather than warned. */
  async setStrictNewDomains(on: boolean, actor: string, db: Kysely<Database> = this.store.db): Promise<void> {
    await commitChange(this.store, {
      db,
      clock: this.clock,
      audit: this.audit,
      write: async (trx) => {
        const put = (key: string, value: string) =>
          trx.insertInto('settings').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
        await put(STRICT_KEY, on ? 'on' : 'off');
        await put(STRICT_CHANGED_KEY, JSON.stringify({ at: this.clock.now(), by: actor }));
      },
      feed: { kind: DNS_FEED.settingsChanged, payload: { strictNewDomains: on } },
      event: { type: 'dns.strict_new_domains', outcome: 'success', actor, detail: { on } },
    });
  }

  async strictNewDomains(): Promise<boolean> {
    const row = await this.store.db.selectFrom('settings').select('value').where('key', '=', STRICT_KEY).executeTakeFirst();
    return row?.value === 'on';
  }

  async strictNewDomainsState(): Promise<StrictNewDomainsState> {
    const rows = await this.store.db.selectFrom('settings').select(['key', 'value']).where('key', 'in', [STRICT_KEY, STRICT_CHANGED_KEY]).execute();
    const value = (key: string) => rows.find((r) => r.key === key)?.value;
    let changed: { at?: unknown; by?: unknown } = {};
    try {
      changed = JSON.parse(value(STRICT_CHANGED_KEY) ?? '{}') as typeof changed;
    } catch {
      // Unreadable bookkeeping must not hide whether the setting is on.
    }
    const on = value(STRICT_KEY) === 'on';
    const by = typeof changed.by === 'string' ? changed.by : undefined;
    const incident = on && by?.startsWith('incident:') ? by.slice('incident:'.length) : undefined;
    return { on, since: typeof changed.at === 'number' ? changed.at : undefined, by, incident };
  }

  static isRelevant(change: Change): boolean {
    return change.kind === DNS_FEED.blocksChanged || change.kind === DNS_FEED.settingsChanged;
  }
}

/** DomainBlocks over a core whose live config names the kept domains (the CLI, incidents, reports). */
export function domainBlocksOf(core: { store: Store; clock: Clock; audit: AuditLog; snapshot(): { config: GatehouseConfig } }): DomainBlocks {
  return new DomainBlocks(core.store, core.clock, core.audit, () => keptDomainsOf(core.snapshot().config));
}
