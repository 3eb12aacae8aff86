import { createAuditLog, ensureCheckpointPublicKey, type AuditLog } from './audit/index.js';
import type { ConfigSnapshot, GatehouseConfig } from './config/index.js';
import { IdentityService, webauthnSettingsFromConfig, type IdentitySettings, type PasswordHashing } from './identity/index.js';
import type { Clock } from './lib/clock.js';
import type { Random } from './lib/random.js';
import { loadServerSecret, openSecretSealer, requireKeyEncryptionKey, sealSecretsAtRest, type SealAtRestReport, type SecretSealer } from './secrets/index.js';
import { openStore, type Store } from './store/index.js';

/**
 * The parts every entry point needs (server, CLI, benchmarks): config snapshot, store, audit log and
 * the identity service. Built explicitly here; nothing connects at import time.
 */
export interface GatehouseCore {
  snapshot(): ConfigSnapshot;
  setSnapshot(next: ConfigSnapshot): void;
  store: Store;
  audit: AuditLog;
  identity: IdentityService;
  /** The key-encryption key's sealer; `available` is false when none is configured (CLI only: serve refuses). */
  secrets: SecretSealer;
  /** Plaintext private keys this open sealed in place (a database from before sealing, or an older instance). */
  sealedAtOpen: SealAtRestReport | undefined;
  clock: Clock;
  random: Random;
  close(): Promise<void>;
}

/** The portal's external URL: `server.public_url`, else built from the host and the first listener. */
export function portalUrlOf(config: GatehouseConfig): string {
  if (config.server.public_url) return config.server.public_url.replace(/\/$/, '');
  const { https: tls, http: plain, portal_host: host } = config.server;
  if (tls) return `https://${host}${tls.port === 443 ? '' : `:${tls.port}`}`;
  return `http://${host}${plain && plain.port !== 80 ? `:${plain.port}` : ''}`;
}

export function identitySettingsOf(config: GatehouseConfig): IdentitySettings {
  return {
    webauthn: webauthnSettingsFromConfig(config.webauthn),
    inviteTtlMs: config.identity.invite_ttl_hours * 3_600_000,
    pendingKeyTtlMs: config.identity.pending_key_minutes * 60_000,
    keyChangeWindowMs: config.identity.key_change_window_minutes * 60_000,
    legacy: {
      password: config.identity.legacy.password,
      totp: config.identity.legacy.totp,
      allowDowngrade: config.identity.legacy.allow_downgrade,
      maxFailures: config.identity.legacy.max_failures,
      lockoutMs: config.identity.legacy.lockout_minutes * 60_000,
    },
    portalUrl: portalUrlOf(config),
  };
}

export function sessionTimeoutsOf(config: GatehouseConfig) {
  return { idleMs: config.sessions.idle_timeout_minutes * 60_000, absoluteMs: config.sessions.absolute_timeout_hours * 3_600_000 };
}

export async function openCore(
  initial: ConfigSnapshot,
  deps: { clock: Clock; random: Random; passwordHashing?: PasswordHashing; sealer?: SecretSealer },
): Promise<GatehouseCore> {
  let snapshot = initial;
  let settings = identitySettingsOf(initial.config);
  const { config } = initial;
  // Before the store: a missing or over-permissive key file fails without touching the database.
  const sealer = deps.sealer ?? openSecretSealer(config.server, initial.baseDir, deps.random);
  const store = await openStore({ url: config.database.url, baseDir: initial.baseDir, poolSize: config.database.pool_size });
  try {
    const audit = createAuditLog({ db: store.db, clock: deps.clock });
    // Before anything reads a private key: check the KEK opens this database, seal legacy plaintext.
    await ensureCheckpointPublicKey(store.db);
    const sealedAtOpen = sealer.available ? await sealSecretsAtRest({ db: store.db, sealer, random: deps.random, audit }) : undefined;
    // Without a KEK (CLI commands that need none; serve refuses) the HMAC key is neither read nor
    // created: only sign-in uses it, and there it refuses with kek_not_configured.
    const serverSecret = sealer.available ? await loadServerSecret(store.db, deps.random, sealer) : undefined;
    const identity = new IdentityService({
      store,
      clock: deps.clock,
      random: deps.random,
      audit,
      sealer,
      serverSecret: () => serverSecret ?? refuseWithoutKek(sealer),
      settings: () => settings,
      timeouts: sessionTimeoutsOf(config),
      sessionCache: { maxEntries: config.sessions.cache_entries, ttlMs: config.sessions.cache_ttl_seconds * 1000 },
      ...(deps.passwordHashing ? { passwordHashing: deps.passwordHashing } : {}),
    });
    await identity.sessions.loadRevocationCutoff();
    return {
      snapshot: () => snapshot,
      setSnapshot(next) {
        // Build everything derived first: a failure leaves the old snapshot in force.
        const nextSettings = identitySettingsOf(next.config);
        identity.sessions.setTimeouts(sessionTimeoutsOf(next.config));
        settings = nextSettings;
        snapshot = next;
      },
      store,
      audit,
      identity,
      secrets: sealer,
      sealedAtOpen,
      clock: deps.clock,
      random: deps.random,
      close: () => store.close(),
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

function refuseWithoutKek(sealer: SecretSealer): never {
  requireKeyEncryptionKey(sealer);
  throw new TypeError('a key-encryption key is configured but the server secret was not loaded');
}
