import { createHash } from 'node:crypto';
import { readCheckpointKey } from '../../audit/index.js';
import type { Store } from '../../store/index.js';
import type { ServiceTokenRecord } from '../service-tokens/index.js';

/** One of Gatehouse's own credentials, read live from where it is kept (never copied into the inventory). */
export interface OwnCredential {
  source: 'service_token' | 'jwt_signing_key' | 'audit_checkpoint_key' | 'key_encryption_key' | 'doh_tokens' | 'ssh_ca_key' | 'cli_credentials';
  name: string;
  kind: string;
  system: 'gatehouse';
  owner: string;
  status: string;
  createdAt: number | undefined;
  lastRotatedAt: number | undefined;
  lastUsedAt: number | undefined;
  believedUnused: boolean;
  /** Key ids, fingerprints, counts: what identifies the credential, never its material. */
  detail: string;
}

export interface OwnCredentialSources {
  store: Pick<Store, 'db'>;
  tokens: { list(): Promise<ServiceTokenRecord[]> };
  /** The key-encryption key's sealer, when one is configured: its primary key id is listed, never the key. */
  sealer?: { readonly available: boolean; readonly source: string; primaryKeyId(): string } | undefined;
  /** Who answers for Gatehouse's own keys (the operators' address). */
  operator: string;
  /** What "expired" and "retired" are measured against. */
  clock: { now(): number };
}

/**
 * Gatehouse's own credentials as inventory rows, read where they live at the moment of listing: a
 * copy would go stale the first time a key rotates, and a stale inventory is how a credential believed
 * gone survives a breach. DoH tokens are per user and numerous, so they are listed as one row per
 * owner with a count.
 */
export async function listOwnCredentials(sources: OwnCredentialSources): Promise<OwnCredential[]> {
  const { store, tokens, sealer, operator, clock } = sources;
  const own: OwnCredential[] = [];
  for (const t of await tokens.list()) {
    own.push({
      source: 'service_token',
      name: t.name,
      kind: 'service_token',
      system: 'gatehouse',
      owner: t.owner,
      status: t.status,
      createdAt: t.createdAt,
      lastRotatedAt: t.rotatedAt,
      lastUsedAt: t.lastUsedAt,
      believedUnused: t.believedUnused,
      detail: `client id ${t.clientId}; expires ${new Date(t.expiresAt).toISOString()}${t.lastUsedIp ? `; last used from ${t.lastUsedIp} on ${t.lastUsedApp ?? '?'}` : ''}`,
    });
  }
  const keys = await store.db.selectFrom('signing_keys').select(['kid', 'created_at', 'activates_at', 'retires_at']).orderBy('created_at').execute();
  for (const key of keys) {
    own.push({
      source: 'jwt_signing_key',
      name: `jwt-signing-key:${key.kid}`,
      kind: 'signing_key',
      system: 'gatehouse',
      owner: operator,
      status: key.retires_at === null ? 'active' : 'retiring',
      createdAt: Number(key.created_at),
      lastRotatedAt: undefined,
      lastUsedAt: undefined,
      believedUnused: false,
      detail: `ES256, kid ${key.kid}, signs from ${new Date(Number(key.activates_at)).toISOString()}`,
    });
  }
  const checkpoint = await readCheckpointKey(store.db).catch(() => undefined);
  if (checkpoint) {
    own.push({ source: 'audit_checkpoint_key', name: 'audit-checkpoint-key', kind: 'signing_key', system: 'gatehouse', owner: operator, status: 'active', createdAt: undefined, lastRotatedAt: undefined, lastUsedAt: undefined, believedUnused: false, detail: checkpoint.fingerprint });
  }
  if (sealer?.available) {
    own.push({ source: 'key_encryption_key', name: 'key-encryption-key', kind: 'encryption_key', system: 'gatehouse', owner: operator, status: 'active', createdAt: undefined, lastRotatedAt: undefined, lastUsedAt: undefined, believedUnused: false, detail: `primary key id ${sealer.primaryKeyId()} (from ${sealer.source})` });
  }
  // SSH certificate authorities: a leaked CA key signs a login to every server that trusts it.
  const now = clock.now();
  const cas = await store.db.selectFrom('ssh_certificate_authorities').select(['id', 'public_key', 'created_at', 'retires_at']).orderBy('created_at').execute();
  for (const ca of cas) {
    if (ca.retires_at !== null && Number(ca.retires_at) <= now) continue;
    own.push({
      source: 'ssh_ca_key',
      name: `ssh-ca:${ca.id}`,
      kind: 'signing_key',
      system: 'gatehouse',
      owner: operator,
      status: ca.retires_at === null ? 'active' : 'retiring',
      createdAt: Number(ca.created_at),
      lastRotatedAt: undefined,
      lastUsedAt: undefined,
      believedUnused: false,
      detail: `ssh-ed25519 ${sshFingerprint(ca.public_key)}${ca.retires_at === null ? '' : `, trusted until ${new Date(Number(ca.retires_at)).toISOString()}`}`,
    });
  }
  // Command-line credentials from `gatehouse login`: each dies with its browser session, listed per person.
  const cli = await store.db
    .selectFrom('cli_credentials')
    .innerJoin('users', 'users.id', 'cli_credentials.user_id')
    .select((eb) => ['users.email as email', eb.fn.countAll<number>().as('count'), eb.fn.max('cli_credentials.expires_at').as('latest')])
    .where('cli_credentials.revoked_at', 'is', null)
    .where('cli_credentials.expires_at', '>', now)
    .groupBy('users.email')
    .orderBy('users.email')
    .execute();
  for (const row of cli) {
    own.push({ source: 'cli_credentials', name: `cli-credentials:${row.email}`, kind: 'api_token', system: 'gatehouse', owner: row.email, status: 'active', createdAt: undefined, lastRotatedAt: undefined, lastUsedAt: undefined, believedUnused: false, detail: `${Number(row.count)} command-line credential(s), the last expiring ${new Date(Number(row.latest)).toISOString()}` });
  }
  const doh = await store.db
    .selectFrom('doh_tokens')
    .innerJoin('users', 'users.id', 'doh_tokens.user_id')
    .select((eb) => ['users.email as email', eb.fn.countAll<number>().as('count'), eb.fn.max('doh_tokens.created_at').as('newest')])
    .groupBy('users.email')
    .orderBy('users.email')
    .execute();
  for (const row of doh) {
    own.push({ source: 'doh_tokens', name: `doh-tokens:${row.email}`, kind: 'api_token', system: 'gatehouse', owner: row.email, status: 'active', createdAt: Number(row.newest), lastRotatedAt: undefined, lastUsedAt: undefined, believedUnused: false, detail: `${Number(row.count)} personal DoH URL token(s)` });
  }
  return own;
}

/** OpenSSH's `SHA256:` fingerprint of a public key line (`ssh-keygen -l`), naming the key without its material. */
function sshFingerprint(publicKeyLine: string): string {
  const blob = publicKeyLine.trim().split(/\s+/)[1] ?? '';
  return `SHA256:${createHash('sha256').update(Buffer.from(blob, 'base64')).digest('base64').replace(/=+$/, '')}`;
}
