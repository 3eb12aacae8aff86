import type { AuditLog } from '../../audit/index.js';
import type { ServiceTokensConfig } from '../../config/index.js';
import type { Clock } from '../../lib/clock.js';
import { GatehouseError } from '../../lib/errors.js';
import type { Random } from '../../lib/random.js';
import { hashSecret } from '../../lib/secret-hash.js';
import type { Change, Store } from '../../store/index.js';
import { SERVICE_TOKEN_ERRORS } from './service-token-codes.js';
import { generateClientId, generateSecret } from './service-token-format.js';
import { checkDescription, checkOwner, checkTag, checkTokenName, type ServiceTokenDescription } from './service-token-input.js';
import { serviceTokenStatesOf } from './service-token-feed.js';
import { ServiceTokenRepository, type TokenChange, type TokenScope } from './service-token-repository.js';
import { recordOfRow, stateOfRow, type ServiceTokenRecord } from './service-token-state.js';
import { createServiceTokenUseRecorder, type OnUseAnomalies, type ServiceTokenLogger, type ServiceTokenUse } from './service-token-use-recorder.js';
import { createServiceTokenVerifier, type ServiceTokenPresentation, type ServiceTokenVerdict } from './service-token-verifier.js';

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export interface ServiceTokenSettings {
  defaultTtlMs: number;
  maxTtlMs: number;
  maxOverlapMs: number;
  flushMs: number;
  maxPending: number;
  /** `service_tokens.anomalies.silence_days` in ms (default 30 days). */
  anomalySilenceMs?: number | undefined;
}

export function serviceTokenSettingsOf(config: ServiceTokensConfig): ServiceTokenSettings {
  return {
    defaultTtlMs: config.default_ttl_days * DAY_MS,
    maxTtlMs: config.max_ttl_days * DAY_MS,
    maxOverlapMs: config.max_overlap_hours * HOUR_MS,
    flushMs: config.last_use_flush_ms,
    maxPending: config.last_use_max_pending,
    anomalySilenceMs: config.anomalies.silence_days * DAY_MS,
  };
}

export interface ServiceTokensOptions {
  store: Store;
  clock: Clock;
  random: Random;
  audit: AuditLog;
  settings: ServiceTokenSettings;
  log?: ServiceTokenLogger | undefined;
  /**
   * Told of unusual use (a new network or app, use after silence, use of a token believed unused) when
   * recorded use is written, never on the request path. Alerting lives with its caller (incident
   * response), which may suspend the token through `suspend`.
   */
  onAnomalies?: OnUseAnomalies | undefined;
}

/** A token and its secret, returned once, at creation or rotation: the secret is stored nowhere. */
export interface IssuedServiceToken {
  token: ServiceTokenRecord;
  clientId: string;
  secret: string;
}

export interface CreateServiceTokenInput extends ServiceTokenDescription {
  /** Lifetime from now; default `default_ttl_days`, at most `max_ttl_days`. */
  ttlMs?: number | undefined;
  actor: string;
}

export type RotateOptions = { actor: string; ttlMs?: number | undefined } & (
  | { overlapUntil: number; emergency?: false | undefined }
  | { emergency: true; overlapUntil?: undefined }
);

export interface ServiceTokens {
  /** Reads every token into the verifier's snapshot (start-up). */
  load(): Promise<void>;
  /** Starts the last-use writer; `stop` writes what is pending. */
  start(): void;
  stop(): Promise<void>;
  reload(settings: ServiceTokenSettings): void;
  verify(presented: ServiceTokenPresentation): ServiceTokenVerdict;
  recordUse(use: ServiceTokenUse): void;
  flushUse(): Promise<number>;
  applyChange(change: Change): void;
  create(input: CreateServiceTokenInput): Promise<IssuedServiceToken>;
  rotate(name: string, options: RotateOptions): Promise<IssuedServiceToken>;
  revoke(name: string, options: { actor: string; reason?: string | undefined }): Promise<ServiceTokenRecord>;
  /**
   * Revokes every token with a tag, of an owner, or every token, in one transaction (one audit event
   * per token, a feed row per 500 tokens): the emergency cut-off after a leak of many secrets. A tag or owner
   * that names no token is refused with `service_token_not_found`.
   */
  revokeMany(scope: TokenScope, options: { actor: string; reason?: string | undefined }): Promise<BulkRevocation>;
  suspend(name: string, options: { actor: string; reason?: string | undefined }): Promise<ServiceTokenRecord>;
  resume(name: string, options: { actor: string }): Promise<ServiceTokenRecord>;
  /**
   * Records its owner's belief that the token is no longer used. Belief is not evidence: the token keeps
   * working, and any use of it is then the loudest anomaly. Revoke it to make the belief true.
   */
  markBelievedUnused(name: string, options: { believedUnused: boolean; actor: string }): Promise<ServiceTokenRecord>;
  list(): Promise<ServiceTokenRecord[]>;
  /** The token, or a `service_token_not_found` error. */
  show(name: string): Promise<ServiceTokenRecord>;
  sightings(name: string): Promise<{ kind: 'network' | 'app'; value: string; firstSeenAt: number; lastSeenAt: number }[]>;
  settings(): ServiceTokenSettings;
}

/** What a bulk revocation did: tokens in scope, and the names of those it revoked now. */
export interface BulkRevocation {
  matched: number;
  revoked: string[];
  alreadyRevoked: number;
}

export type { TokenScope } from './service-token-repository.js';

function refuse(code: string, message: string, status = 400): GatehouseError {
  return new GatehouseError(code, { status, publicMessage: message, detail: message });
}

const days = (ms: number) => `${Math.round((ms / DAY_MS) * 100) / 100} days`;
const hours = (ms: number) => `${Math.round((ms / HOUR_MS) * 100) / 100} hours`;

/**
 * The service-token capability: administration (create, rotate, revoke, suspend, resume) written
 * through the change feed, the verifier's snapshot every instance keeps current from it, and the
 * batched last-use writer. Each change made here is applied to this instance's snapshot at once; other
 * instances apply it when the feed row arrives (at once on PostgreSQL, through NOTIFY).
 */
export function createServiceTokens(options: ServiceTokensOptions): ServiceTokens {
  const { store, clock, random, audit, log } = options;
  let settings = options.settings;
  const repository = new ServiceTokenRepository(store, clock, audit);
  const verifier = createServiceTokenVerifier(random);
  const recorder = createServiceTokenUseRecorder({
    store,
    tokenIdOf: verifier.idOf,
    flushMs: settings.flushMs,
    maxPending: settings.maxPending,
    log,
    onAnomalies: options.onAnomalies,
    anomalySettings: () => ({ silenceMs: settings.anomalySilenceMs ?? 30 * DAY_MS }),
  });

  const expiryFrom = (now: number, ttlMs: number | undefined): number => {
    const ttl = ttlMs ?? settings.defaultTtlMs;
    if (!Number.isFinite(ttl) || ttl <= 0) throw refuse(SERVICE_TOKEN_ERRORS.invalidInput, 'the lifetime must be a positive duration');
    if (ttl > settings.maxTtlMs) {
      throw refuse(SERVICE_TOKEN_ERRORS.ttlTooLong, `a lifetime of ${days(ttl)} is over the maximum of ${days(settings.maxTtlMs)} (service_tokens.max_ttl_days)`);
    }
    return now + ttl;
  };

  const change = async (name: string, actor: string, decide: Parameters<ServiceTokenRepository['update']>[2]) => {
    const { row, changed } = await repository.update(checkTokenName(name), actor, decide);
    if (changed) verifier.apply(stateOfRow(row));
    return row;
  };

  const refuseIfRevoked = (status: string, name: string, what: string) => {
    if (status === 'revoked') throw refuse(SERVICE_TOKEN_ERRORS.revokedIsFinal, `service token ${name} is revoked; a revoked token cannot be ${what} (create a new one)`, 409);
  };

  return {
    async load() {
      verifier.replaceAll(await repository.states());
    },
    start: () => recorder.start(),
    stop: () => recorder.stop(),
    reload(next) {
      recorder.setTiming(next.flushMs, next.maxPending);
      settings = next;
    },
    verify: (presented) => verifier.verify(presented),
    recordUse: (use) => recorder.record(use),
    flushUse: () => recorder.flush(),
    applyChange(feedChange) {
      const { states, malformed } = serviceTokenStatesOf(feedChange);
      for (const state of states) verifier.apply(state);
      if (malformed > 0) log?.warn({ feedId: feedChange.id, malformed }, 'ignored a malformed service token feed row');
    },

    async create(input) {
      const checked = checkDescription(input);
      const now = clock.now();
      const expiresAt = expiryFrom(now, input.ttlMs);
      const clientId = generateClientId(random);
      const secret = generateSecret(random);
      const row = {
        id: random.uuid(),
        client_id: clientId,
        name: checked.name,
        owner: checked.owner,
        description: checked.description,
        tags: JSON.stringify(checked.tags),
        apps: JSON.stringify(checked.apps),
        secret_hash: hashSecret(secret),
        previous_secret_hash: null,
        previous_valid_until: null,
        status: 'active' as const,
        status_reason: null,
        believed_unused: 0,
        version: 1,
        created_at: now,
        created_by: input.actor,
        updated_at: now,
        expires_at: expiresAt,
        rotated_at: null,
        rotated_by: null,
        last_used_at: null,
        last_used_ip: null,
        last_used_app: null,
        last_used_user_agent: null,
      };
      verifier.apply(await repository.insert(row, input.actor));
      log?.info({ token: checked.name, clientId, actor: input.actor }, 'service token created');
      return { token: recordOfRow(row), clientId, secret };
    },

    async rotate(name, rotation) {
      const now = clock.now();
      const emergency = rotation.emergency === true;
      if (!emergency) {
        const until = rotation.overlapUntil;
        if (typeof until !== 'number' || !Number.isFinite(until)) throw refuse(SERVICE_TOKEN_ERRORS.overlapInvalid, 'give an overlap end time, or rotate in emergency mode');
        if (until <= now) throw refuse(SERVICE_TOKEN_ERRORS.overlapInvalid, 'the overlap must end in the future (for an immediate cut-off, rotate in emergency mode)');
        if (until - now > settings.maxOverlapMs) {
          throw refuse(SERVICE_TOKEN_ERRORS.overlapInvalid, `an overlap of ${hours(until - now)} is over the maximum of ${hours(settings.maxOverlapMs)} (service_tokens.max_overlap_hours)`);
        }
      }
      const expiresAt = rotation.ttlMs === undefined ? undefined : expiryFrom(now, rotation.ttlMs);
      const secret = generateSecret(random);
      const row = await change(name, rotation.actor, (current): TokenChange => {
        refuseIfRevoked(current.status, current.name, 'rotated');
        const newExpiry = expiresAt ?? Number(current.expires_at);
        // The old secret never outlives the token itself.
        const overlapUntil = emergency ? null : Math.min(rotation.overlapUntil!, newExpiry);
        return {
          set: {
            secret_hash: hashSecret(secret),
            previous_secret_hash: emergency ? null : current.secret_hash,
            previous_valid_until: overlapUntil,
            expires_at: newExpiry,
            rotated_at: now,
            rotated_by: rotation.actor,
          },
          event: 'service_token.rotated',
          detail: { mode: emergency ? 'emergency' : 'overlap', ...(overlapUntil === null ? {} : { overlapUntil }) },
        };
      });
      log?.info({ token: row.name, clientId: row.client_id, actor: rotation.actor, emergency }, 'service token rotated');
      return { token: recordOfRow(row), clientId: row.client_id, secret };
    },

    async revoke(name, { actor, reason }) {
      const row = await change(name, actor, (current) =>
        current.status === 'revoked'
          ? undefined
          : { set: { status: 'revoked', status_reason: reason ?? null, previous_secret_hash: null, previous_valid_until: null }, event: 'service_token.revoked', detail: { reason: reason ?? null } },
      );
      return recordOfRow(row);
    },

    async revokeMany(scope, { actor, reason }) {
      const checked: TokenScope = 'tag' in scope ? { tag: checkTag(scope.tag) } : 'owner' in scope ? { owner: checkOwner(scope.owner) } : { all: true };
      const { matched, revoked } = await repository.revokeScope(checked, actor, reason);
      if (matched === 0 && !('all' in checked)) {
        const what = 'tag' in checked ? `has the tag ${checked.tag}` : `is owned by ${checked.owner}`;
        throw refuse(SERVICE_TOKEN_ERRORS.notFound, `no service token ${what} (see \`gatehouse tokens list\`)`, 404);
      }
      for (const row of revoked) verifier.apply(stateOfRow(row));
      log?.info({ scope: checked, revoked: revoked.length, actor }, 'service tokens revoked');
      return { matched, revoked: revoked.map((r) => r.name), alreadyRevoked: matched - revoked.length };
    },

    async suspend(name, { actor, reason }) {
      const row = await change(name, actor, (current) => {
        refuseIfRevoked(current.status, current.name, 'suspended');
        return current.status === 'suspended' ? undefined : { set: { status: 'suspended', status_reason: reason ?? null }, event: 'service_token.suspended', detail: { reason: reason ?? null } };
      });
      return recordOfRow(row);
    },

    async resume(name, { actor }) {
      const row = await change(name, actor, (current) => {
        refuseIfRevoked(current.status, current.name, 'resumed');
        return current.status === 'active' ? undefined : { set: { status: 'active', status_reason: null }, event: 'service_token.resumed' };
      });
      return recordOfRow(row);
    },

    async markBelievedUnused(name, { believedUnused, actor }) {
      const row = await change(name, actor, (current) =>
        (Number(current.believed_unused) === 1) === believedUnused
          ? undefined
          : { set: { believed_unused: believedUnused ? 1 : 0 }, event: 'service_token.believed_unused', detail: { believedUnused } },
      );
      return recordOfRow(row);
    },

    list: () => repository.list(),
    async show(name) {
      const found = await repository.find(checkTokenName(name));
      if (!found) throw refuse(SERVICE_TOKEN_ERRORS.notFound, `service token ${name} was not found`, 404);
      return found;
    },
    async sightings(name) {
      const found = await repository.find(checkTokenName(name));
      if (!found) throw refuse(SERVICE_TOKEN_ERRORS.notFound, `service token ${name} was not found`, 404);
      return repository.sightings(found.id);
    },
    settings: () => settings,
  };
}
