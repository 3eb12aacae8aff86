import type { Database } from '../../store/index.js';
import { checkLocator } from './check-locator.js';
import { INVENTORY_ERRORS, inventoryError } from './inventory-codes.js';

type Row = Database['credential_inventory'];
export type CredentialKind = Row['kind'];
export const CREDENTIAL_KINDS: readonly CredentialKind[] = ['service_account', 'api_token', 'ssh_key', 'database_role', 'other'];

/** The fields an import row, `inventory add` or `inventory edit` sets. */
export interface InventoryInput {
  name: string;
  kind: CredentialKind;
  system: string;
  owner: string;
  scope: string;
  createdAt: number | undefined;
  lastRotatedAt: number | undefined;
  lastUsedAt: number | undefined;
  lastUsedEvidence: string | undefined;
  rotator: string | undefined;
  locator: Record<string, string>;
  believedUnused: boolean;
}

/** What an administrator sees of an external credential (no secret: the inventory never holds one). */
export interface InventoryItem extends InventoryInput {
  id: string;
  status: Row['status'];
  updatedAt: number;
  updatedBy: string;
}

/** Field names as they appear in CSV headers and JSON keys. */
export const INVENTORY_FIELDS = ['name', 'kind', 'system', 'owner', 'scope', 'created_at', 'last_rotated_at', 'last_used_at', 'last_used_evidence', 'rotator', 'locator', 'believed_unused'] as const;
export type InventoryField = (typeof INVENTORY_FIELDS)[number];

const num = (v: number | null): number | undefined => (v === null ? undefined : Number(v));

export function itemOfRow(row: Row): InventoryItem {
  let locator: Record<string, string> = {};
  try {
    locator = JSON.parse(row.locator) as Record<string, string>;
  } catch {
    locator = {};
  }
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    system: row.system,
    owner: row.owner,
    scope: row.scope,
    createdAt: num(row.created_at),
    lastRotatedAt: num(row.last_rotated_at),
    lastUsedAt: num(row.last_used_at),
    lastUsedEvidence: row.last_used_evidence ?? undefined,
    rotator: row.rotator ?? undefined,
    locator,
    status: row.status,
    believedUnused: Number(row.believed_unused) === 1,
    updatedAt: Number(row.updated_at),
    updatedBy: row.updated_by,
  };
}

const fail = (where: string, field: string, what: string) => inventoryError(INVENTORY_ERRORS.invalidInput, `${where}, column "${field}": ${what}`);

function text(where: string, field: string, value: unknown, { required, max }: { required: boolean; max: number }): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw fail(where, field, 'is required');
    return undefined;
  }
  if (typeof value !== 'string') throw fail(where, field, 'must be text');
  const trimmed = value.trim();
  if (required && trimmed === '') throw fail(where, field, 'is required');
  if (trimmed.length > max) throw fail(where, field, `is longer than ${max} characters`);
  if (/[\u0000-\u001f\u007f]/.test(trimmed)) throw fail(where, field, 'holds control characters');
  return trimmed;
}

function time(where: string, field: string, value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value.trim())) {
    const parsed = Date.parse(value.trim());
    if (Number.isFinite(parsed)) return parsed;
  }
  throw fail(where, field, `${JSON.stringify(String(value).slice(0, 40))} is not a date (use ISO 8601, e.g. 2023-10-20 or 2023-10-20T09:00:00Z)`);
}

function flag(where: string, field: string, value: unknown): boolean {
  if (value === undefined || value === null || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|yes|1)$/i.test(value.trim())) return true;
  if (typeof value === 'string' && /^(false|no|0)$/i.test(value.trim())) return false;
  throw fail(where, field, 'must be true or false');
}

/**
 * Checks one record from an import, `inventory add` or `inventory edit`. `where` prefixes every
 * message (`line 4`, `[3]`, `--owner`), so a bad row in a thousand names its place and its field.
 */
export function checkInventoryInput(raw: Readonly<Record<string, unknown>>, where: string): InventoryInput {
  for (const key of Object.keys(raw)) {
    if (!(INVENTORY_FIELDS as readonly string[]).includes(key)) throw fail(where, key, `unknown field (expected ${INVENTORY_FIELDS.join(', ')})`);
  }
  const name = text(where, 'name', raw.name, { required: true, max: 200 })!;
  const kind = text(where, 'kind', raw.kind, { required: true, max: 40 })!;
  if (!(CREDENTIAL_KINDS as readonly string[]).includes(kind)) throw fail(where, 'kind', `${JSON.stringify(kind)} is not one of ${CREDENTIAL_KINDS.join(', ')}`);
  const system = text(where, 'system', raw.system, { required: true, max: 200 })!;
  const owner = text(where, 'owner', raw.owner, { required: true, max: 254 })!.toLowerCase();
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(owner)) throw fail(where, 'owner', `${JSON.stringify(owner.slice(0, 60))} is not an email address`);
  const rotator = text(where, 'rotator', raw.rotator, { required: false, max: 60 });
  if (rotator !== undefined && !/^[a-z][a-z0-9-]*$/.test(rotator)) throw fail(where, 'rotator', `${JSON.stringify(rotator)} is not a rotator name`);
  return {
    name,
    kind: kind as CredentialKind,
    system,
    owner,
    scope: text(where, 'scope', raw.scope, { required: false, max: 500 }) ?? '',
    createdAt: time(where, 'created_at', raw.created_at),
    lastRotatedAt: time(where, 'last_rotated_at', raw.last_rotated_at),
    lastUsedAt: time(where, 'last_used_at', raw.last_used_at),
    lastUsedEvidence: text(where, 'last_used_evidence', raw.last_used_evidence, { required: false, max: 1000 }),
    rotator,
    locator: checkLocator(raw.locator, `${where}, column "locator"`),
    believedUnused: flag(where, 'believed_unused', raw.believed_unused),
  };
}
