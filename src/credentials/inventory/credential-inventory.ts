import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { Random } from '../../lib/random.js';
import { commitChange, type ChangeAuditor, type Database, type Store } from '../../store/index.js';
import { INVENTORY_ERRORS, inventoryError } from './inventory-codes.js';
import { checkInventoryInput, itemOfRow, type InventoryInput, type InventoryItem } from './inventory-item.js';

type Row = Database['credential_inventory'];

export interface ImportResult {
  added: number;
  updated: number;
  unchanged: number;
}

const CHUNK = 200;

function valuesOf(input: InventoryInput): Omit<Row, 'id' | 'status' | 'added_at' | 'updated_at' | 'updated_by'> {
  return {
    name: input.name,
    kind: input.kind,
    system: input.system,
    owner: input.owner,
    scope: input.scope,
    created_at: input.createdAt ?? null,
    last_rotated_at: input.lastRotatedAt ?? null,
    last_used_at: input.lastUsedAt ?? null,
    last_used_evidence: input.lastUsedEvidence ?? null,
    rotator: input.rotator ?? null,
    locator: JSON.stringify(input.locator),
    believed_unused: input.believedUnused ? 1 : 0,
  };
}

const sameValues = (row: Row, values: ReturnType<typeof valuesOf>): boolean =>
  (Object.keys(values) as (keyof typeof values)[]).every((key) => (row[key] === null ? null : String(row[key])) === (values[key] === null ? null : String(values[key])));

/**
 * The rows of `credential_inventory`: credentials of outside systems. Every write goes through
 * `commitChange` with an audit event, so "who said this key is unused, and when" is in the audit log.
 * An import is one transaction: a file with one bad row writes nothing (the parsers refuse it before
 * this runs), and importing the same file again changes nothing (rows are matched by name).
 */
export class CredentialInventory {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly random: Random,
    private readonly audit: ChangeAuditor,
  ) {}

  async list(options: { includeRetired?: boolean } = {}): Promise<InventoryItem[]> {
    let query = this.store.db.selectFrom('credential_inventory').selectAll().orderBy('name');
    if (!options.includeRetired) query = query.where('status', '=', 'active');
    return (await query.execute()).map(itemOfRow);
  }

  async show(name: string): Promise<InventoryItem> {
    const row = await this.store.db.selectFrom('credential_inventory').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw inventoryError(INVENTORY_ERRORS.notFound, `credential ${JSON.stringify(name)} is not in the inventory`, 404);
    return itemOfRow(row);
  }

  async add(raw: Readonly<Record<string, unknown>>, actor: string): Promise<InventoryItem> {
    const input = checkInventoryInput(raw, 'input');
    const now = this.clock.now();
    const row: Row = { id: this.random.uuid(), ...valuesOf(input), status: 'active', added_at: now, updated_at: now, updated_by: actor };
    await commitChange(this.store, {
      clock: this.clock,
      feed: () => undefined,
      audit: this.audit,
      event: { type: 'inventory.added', outcome: 'success', actor, detail: { name: row.name, kind: row.kind, system: row.system, owner: row.owner } },
      write: async (trx) => {
        const taken = await trx.selectFrom('credential_inventory').select('id').where('name', '=', row.name).executeTakeFirst();
        if (taken) throw inventoryError(INVENTORY_ERRORS.nameTaken, `credential ${JSON.stringify(row.name)} is already in the inventory (use inventory edit)`, 409);
        await trx.insertInto('credential_inventory').values(row).execute();
      },
    });
    return itemOfRow(row);
  }

  /** Changes the given fields of an item; the result is checked as a whole, as an import row would be. */
  async edit(name: string, changes: Readonly<Record<string, unknown>>, actor: string): Promise<InventoryItem> {
    const current = await this.show(name);
    const merged: Record<string, unknown> = {
      name: current.name,
      kind: current.kind,
      system: current.system,
      owner: current.owner,
      scope: current.scope,
      created_at: current.createdAt,
      last_rotated_at: current.lastRotatedAt,
      last_used_at: current.lastUsedAt,
      last_used_evidence: current.lastUsedEvidence,
      rotator: current.rotator,
      locator: JSON.stringify(current.locator),
      believed_unused: current.believedUnused,
      ...changes,
    };
    const input = checkInventoryInput(merged, 'input');
    const now = this.clock.now();
    await commitChange(this.store, {
      clock: this.clock,
      feed: () => undefined,
      audit: this.audit,
      event: { type: 'inventory.edited', outcome: 'success', actor, detail: { name: current.name, fields: Object.keys(changes) } },
      write: (trx) => trx.updateTable('credential_inventory').set({ ...valuesOf(input), updated_at: now, updated_by: actor }).where('id', '=', current.id).execute(),
    });
    return this.show(input.name);
  }

  async retire(name: string, actor: string, reason: string | undefined): Promise<InventoryItem> {
    const current = await this.show(name);
    if (current.status === 'retired') return current;
    await commitChange(this.store, {
      clock: this.clock,
      feed: () => undefined,
      audit: this.audit,
      event: { type: 'inventory.retired', outcome: 'success', actor, detail: { name, reason: reason ?? null } },
      write: (trx) => trx.updateTable('credential_inventory').set({ status: 'retired', updated_at: this.clock.now(), updated_by: actor }).where('id', '=', current.id).execute(),
    });
    return this.show(name);
  }

  /**
   * Writes checked rows in one transaction, matched by name: new names are added, changed ones
   * updated, identical ones left alone (so a re-import is a no-op and audits nothing per row).
   */
  async importRows(inputs: readonly InventoryInput[], actor: string, source: string): Promise<ImportResult> {
    const now = this.clock.now();
    return commitChange(this.store, {
      clock: this.clock,
      feed: () => undefined,
      audit: this.audit,
      event: (result: ImportResult) => ({ type: 'inventory.imported', outcome: 'success', actor, detail: { source, rows: inputs.length, ...result } }),
      write: async (trx: Kysely<Database>) => {
        const existing = new Map<string, Row>();
        for (let i = 0; i < inputs.length; i += CHUNK) {
          const names = inputs.slice(i, i + CHUNK).map((input) => input.name);
          for (const row of await trx.selectFrom('credential_inventory').selectAll().where('name', 'in', names).execute()) existing.set(row.name, row);
        }
        const result: ImportResult = { added: 0, updated: 0, unchanged: 0 };
        const fresh: Row[] = [];
        for (const input of inputs) {
          const values = valuesOf(input);
          const before = existing.get(input.name);
          if (!before) {
            fresh.push({ id: this.random.uuid(), ...values, status: 'active', added_at: now, updated_at: now, updated_by: actor });
            result.added += 1;
          } else if (sameValues(before, values) && before.status === 'active') {
            result.unchanged += 1;
          } else {
            await trx.updateTable('credential_inventory').set({ ...values, status: 'active', updated_at: now, updated_by: actor }).where('id', '=', before.id).execute();
            result.updated += 1;
          }
        }
        for (let i = 0; i < fresh.length; i += CHUNK / 4) await trx.insertInto('credential_inventory').values(fresh.slice(i, i + CHUNK / 4)).execute();
        return result;
      },
    });
  }
}
