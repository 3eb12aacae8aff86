import type { Database } from '../../store/index.js';

type Row = Database['service_tokens'];
export type ServiceTokenStatus = Row['status'];

/**
 * What an administrator (and the CLI) sees of a token. Never a secret; not even the digests, which are
 * of no use outside the verifier.
 */
export interface ServiceTokenRecord {
  id: string;
  clientId: string;
  name: string;
  owner: string;
  description: string;
  tags: string[];
  apps: string[];
  status: ServiceTokenStatus;
  statusReason: string | undefined;
  believedUnused: boolean;
  version: number;
  createdAt: number;
  createdBy: string;
  updatedAt: number;
  expiresAt: number;
  rotatedAt: number | undefined;
  rotatedBy: string | undefined;
  /** While a rotation's overlap lasts: until when the previous secret is still accepted. */
  previousValidUntil: number | undefined;
  lastUsedAt: number | undefined;
  lastUsedIp: string | undefined;
  lastUsedApp: string | undefined;
  lastUsedUserAgent: string | undefined;
}

/**
 * What every instance's verifier holds of a token, and what a change-feed row carries: the whole
 * state, digests included, so an instance applies a change (an emergency rotation above all) the
 * moment the row arrives, without a second read that could race with the next change. The digests are
 * already in the same database; the audit log, which is exported further, never gets them.
 */
export interface ServiceTokenState {
  id: string;
  clientId: string;
  name: string;
  owner: string;
  tags: string[];
  apps: string[];
  status: ServiceTokenStatus;
  believedUnused: boolean;
  version: number;
  expiresAt: number;
  secretHash: string;
  previousSecretHash: string | undefined;
  previousValidUntil: number | undefined;
}

const orUndefined = <T>(value: T | null): T | undefined => (value === null ? undefined : value);
const num = (value: number | null): number | undefined => (value === null ? undefined : Number(value));

export function parseList(text: string): string[] {
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

export function recordOfRow(row: Row): ServiceTokenRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    owner: row.owner,
    description: row.description,
    tags: parseList(row.tags),
    apps: parseList(row.apps),
    status: row.status,
    statusReason: orUndefined(row.status_reason),
    believedUnused: Number(row.believed_unused) === 1,
    version: Number(row.version),
    createdAt: Number(row.created_at),
    createdBy: row.created_by,
    updatedAt: Number(row.updated_at),
    expiresAt: Number(row.expires_at),
    rotatedAt: num(row.rotated_at),
    rotatedBy: orUndefined(row.rotated_by),
    previousValidUntil: row.previous_secret_hash === null ? undefined : num(row.previous_valid_until),
    lastUsedAt: num(row.last_used_at),
    lastUsedIp: orUndefined(row.last_used_ip),
    lastUsedApp: orUndefined(row.last_used_app),
    lastUsedUserAgent: orUndefined(row.last_used_user_agent),
  };
}

export function stateOfRow(row: Row): ServiceTokenState {
  return {
    id: row.id,
    clientId: row.client_id,
    name: row.name,
    owner: row.owner,
    tags: parseList(row.tags),
    apps: parseList(row.apps),
    status: row.status,
    believedUnused: Number(row.believed_unused) === 1,
    version: Number(row.version),
    expiresAt: Number(row.expires_at),
    secretHash: row.secret_hash,
    previousSecretHash: orUndefined(row.previous_secret_hash),
    previousValidUntil: row.previous_secret_hash === null ? undefined : num(row.previous_valid_until),
  };
}

/** A feed payload back into a state; anything malformed is refused (the verifier keeps what it had). */
export function stateOfPayload(payload: Record<string, unknown>): ServiceTokenState | undefined {
  const p = payload;
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isList = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
  if (!isString(p.id) || !isString(p.clientId) || !isString(p.name) || !isString(p.owner) || !isList(p.tags) || !isList(p.apps)) return undefined;
  if (p.status !== 'active' && p.status !== 'suspended' && p.status !== 'revoked') return undefined;
  if (typeof p.version !== 'number' || typeof p.expiresAt !== 'number' || !isString(p.secretHash)) return undefined;
  const previousSecretHash = isString(p.previousSecretHash) ? p.previousSecretHash : undefined;
  const previousValidUntil = typeof p.previousValidUntil === 'number' ? p.previousValidUntil : undefined;
  return {
    id: p.id,
    clientId: p.clientId,
    name: p.name,
    owner: p.owner,
    tags: p.tags,
    apps: p.apps,
    status: p.status,
    believedUnused: p.believedUnused === true,
    version: p.version,
    expiresAt: p.expiresAt,
    secretHash: p.secretHash,
    previousSecretHash,
    previousValidUntil: previousSecretHash === undefined ? undefined : previousValidUntil,
  };
}
