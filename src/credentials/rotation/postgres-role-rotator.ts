import pg from 'pg';
import { cryptoRandom, randomToken, type Random } from '../../lib/random.js';
import { rotationError } from './rotation-error.js';
import type { RotationContext, RotationOutcome, RotationTarget, Rotator } from './rotator.js';
import { scramSha256Verifier, SCRAM_ITERATIONS } from './scram-sha256-verifier.js';
import { requireStaging, writeAheadStart, type LoginProbe } from './write-ahead.js';

export interface PostgresRoleRotatorOptions {
  /** A connection string for a role allowed to `ALTER ROLE` the targets (CREATEROLE or superuser). */
  adminUrl: string;
  /**
   * Where probes log in when the item's locator gives no `url` (no user or password in it). Default:
   * the admin URL's server. Needed when the admin channel is one the probe cannot use, e.g. a Unix
   * socket with peer authentication while the owning service logs in over TCP with a password.
   */
  probeUrl?: string;
  random?: Random;
  /** Bound on every connection the rotator opens, admin and probes alike. */
  connectTimeoutMs?: number;
  scramIterations?: number;
  /**
   * End the role's open sessions after rotating (default true). A password change does not touch
   * connections already logged in, and after a leak some of those may be the intruder's; the owning
   * service reconnects with the delivered secret. Revocation always ends them.
   */
  terminateSessionsOnRotate?: boolean;
}

/** Where a probe logs in: the server the owning service uses, never a secret in here. */
interface ProbeServer {
  host: string;
  port: number;
  database: string;
}

type LoginResult = { ok: true } | { ok: false; sqlstate?: string; answer: string };

/** SQLSTATE class 28: 28P01 invalid_password, 28000 invalid_authorization_specification. */
const INVALID_PASSWORD = '28P01';
const INVALID_AUTHORIZATION = '28000';

/**
 * Rotates a PostgreSQL role's password and proves, by logging in, that the old one is refused.
 *
 * The new password never reaches the server in clear: it is sent as a SCRAM-SHA-256 verifier
 * computed here, so the statement log, `pg_stat_statements` and the WAL hold only what the catalog
 * holds anyway. Before touching anything the rotator logs in with a random password: a server that
 * lets that in (pg_hba `trust`, `ident`, a pooler that authenticates for the client) cannot show that
 * the old password fails, and "it would have failed" is exactly the belief a campaign must not close on.
 * It then logs in with the previous password, which must work: its refusal after the change is the
 * evidence only if it was the live password before it.
 */
export function createPostgresRoleRotator(options: PostgresRoleRotatorOptions): Rotator {
  const {
    adminUrl,
    random = cryptoRandom,
    connectTimeoutMs = 5000,
    scramIterations = SCRAM_ITERATIONS,
    terminateSessionsOnRotate = true,
  } = options;
  const adminServer = probeServerOf(adminUrl);
  if (!adminServer) throw new TypeError('postgres-role rotator: adminUrl must be a postgres:// URL');
  const defaultProbeServer = options.probeUrl === undefined ? adminServer : probeServerOf(options.probeUrl, true);
  if (!defaultProbeServer) throw new TypeError('postgres-role rotator: probeUrl must be a postgres:// URL with a host and no user or password');

  function validate(target: RotationTarget): string | undefined {
    const role = target.locator.role;
    if (typeof role !== 'string' || role.length === 0) return 'locator.role is required';
    // NAMEDATALEN - 1: a longer name is silently truncated by the server, which would alter another role.
    if (Buffer.byteLength(role) > 63) return 'locator.role is longer than 63 bytes';
    if (role.includes('\0')) return 'locator.role contains a NUL byte';
    const url = target.locator.url;
    if (url !== undefined && !probeServerOf(url, true)) {
      return 'locator.url must be a postgres:// URL with a host and no user or password';
    }
    const unknown = Object.keys(target.locator).filter((key) => key !== 'role' && key !== 'url');
    if (unknown.length > 0) return `locator has unknown keys: ${unknown.join(', ')}`;
    return undefined;
  }

  function checked(target: RotationTarget): { role: string; server: ProbeServer } {
    const problem = validate(target);
    if (problem) throw rotationError('rotation_invalid_locator', `postgres-role ${target.itemId}: ${problem}`);
    const server = target.locator.url === undefined ? defaultProbeServer : probeServerOf(target.locator.url, true);
    return { role: target.locator.role as string, server: server as ProbeServer };
  }

  async function login(server: ProbeServer, role: string, password: string): Promise<LoginResult> {
    const client = new pg.Client({
      host: server.host,
      port: server.port,
      database: server.database,
      user: role,
      password,
      connectionTimeoutMillis: connectTimeoutMs,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return { ok: true };
    } catch (error) {
      if (error instanceof pg.DatabaseError && typeof error.code === 'string') {
        return { ok: false, sqlstate: error.code, answer: `${error.code} ${error.message}` };
      }
      const code = (error as { code?: unknown }).code;
      return { ok: false, answer: typeof code === 'string' ? code : 'connection failed' };
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async function admin(sql: string, what: string, target: RotationTarget, values: string[] = []): Promise<pg.QueryResult> {
    const client = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: connectTimeoutMs });
    client.on('error', () => undefined);
    try {
      await client.connect();
      return await client.query(sql, values);
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === '42704') {
        throw rotationError('rotation_target_not_found', `postgres-role ${target.itemId}: the role does not exist`);
      }
      // Never the error's message or the SQL: the statement carries the verifier.
      throw rotationError(
        'rotation_change_failed',
        `postgres-role ${target.itemId}: ${what} failed (${typeof code === 'string' ? code : 'no code'})`,
      );
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Ends the role's sessions (those logged in before the change); returns how many. */
  async function terminateSessions(target: RotationTarget, role: string): Promise<number> {
    const result = await admin(
      'SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE usename = $1 AND pid <> pg_backend_pid()',
      'ending the role\'s sessions',
      target,
      [role],
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  /** Refuses to go on when a wrong password would not be refused, or the server cannot be reached. */
  async function requirePasswordChecked(target: RotationTarget, server: ProbeServer, role: string): Promise<void> {
    const canary = await login(server, role, randomToken(random, 32));
    if (canary.ok) {
      throw rotationError(
        'rotation_probe_inconclusive',
        `postgres-role ${target.itemId}: ${serverName(server)} accepted a random password for the role (trust or ident authentication?), so no probe can show the old password fails`,
      );
    }
    if (canary.sqlstate !== INVALID_PASSWORD) {
      throw rotationError(
        canary.sqlstate === undefined ? 'rotation_probe_failed' : 'rotation_probe_inconclusive',
        `postgres-role ${target.itemId}: a login with a wrong password at ${serverName(server)} answered ${canary.answer}, not ${INVALID_PASSWORD}`,
      );
    }
  }

  async function rotate(target: RotationTarget, context: RotationContext): Promise<RotationOutcome> {
    const { role, server } = checked(target);
    const previous = await context.previousSecret?.(target);
    if (!previous || previous.length === 0) {
      throw rotationError(
        'rotation_probe_impossible',
        `postgres-role ${target.itemId}: the previous password is not available, so the probe cannot present it`,
      );
    }
    const staging = requireStaging(`postgres-role ${target.itemId}`, context);
    await requirePasswordChecked(target, server, role);
    // A refusal after the change proves something only if the same secret was accepted before it: a
    // campaign holding a stale or mistyped secret would otherwise record evidence about a password that
    // was never the live one, while the real one keeps working. The one exception is a staged password
    // that logs in while the previous one is refused: an earlier call checked the previous one, staged,
    // changed the role and was interrupted before delivering (see writeAheadStart).
    let previousSqlstate: string | undefined;
    const probe = async (secret: Buffer): Promise<LoginProbe> => {
      const result = await login(server, role, secret.toString('utf8'));
      if (secret === previous && !result.ok) previousSqlstate = result.sqlstate;
      return result.ok ? { accepted: true, refused: false, answer: 'accepted' } : { accepted: false, refused: result.sqlstate === INVALID_PASSWORD, answer: result.answer };
    };
    const start = await writeAheadStart({
      who: `postgres-role ${target.itemId} at ${serverName(server)}`,
      target,
      staging,
      probePrevious: () => probe(previous),
      probeStaged: probe,
      previousNotAccepted: (before) =>
        rotationError(
          previousSqlstate === undefined ? 'rotation_probe_failed' : 'rotation_previous_secret_refused',
          `postgres-role ${target.itemId}: the previous password does not log in at ${serverName(server)} before rotation (${before.answer}), so its refusal afterwards would prove nothing`,
        ),
    });

    let password: string;
    if (start.recover) password = start.recover.toString('utf8');
    else {
      password = randomToken(random, 32);
      // Write-ahead: on disk before the role changes, so no crash can leave a password only the server knows.
      await staging.stage(target, Buffer.from(password));
      const verifier = scramSha256Verifier(Buffer.from(password), random.bytes(16), scramIterations);
      await admin(
        `ALTER ROLE ${pg.escapeIdentifier(role)} PASSWORD ${pg.escapeLiteral(verifier)}`,
        'ALTER ROLE … PASSWORD',
        target,
      );
    }
    const deliveredTo = await context.deliverSecret(target, Buffer.from(password));
    await staging.discard(target);
    const sessionsTerminated = terminateSessionsOnRotate ? await terminateSessions(target, role) : 0;

    const old = await login(server, role, previous.toString('utf8'));
    const at = context.now();
    if (old.ok) {
      throw rotationError(
        'rotation_old_credential_accepted',
        `postgres-role ${target.itemId}: the old password still logs in at ${serverName(server)}`,
      );
    }
    if (old.sqlstate !== INVALID_PASSWORD) {
      throw rotationError(
        'rotation_probe_failed',
        `postgres-role ${target.itemId}: the old-password login at ${serverName(server)} answered ${old.answer}, not ${INVALID_PASSWORD}`,
      );
    }
    const fresh = await login(server, role, password);
    if (!fresh.ok) {
      throw rotationError(
        'rotation_new_credential_fails',
        `postgres-role ${target.itemId}: the new password does not log in at ${serverName(server)} (${fresh.answer})`,
      );
    }
    return {
      rotatedAt: at,
      deliveredTo,
      evidence: {
        kind: 'old_credential_refused',
        at,
        detail: {
          probe: 'login',
          server: serverName(server),
          role,
          answer: old.answer,
          previousAcceptedBefore: true,
          newCredential: 'accepted',
          ...(start.recover ? { recoveredStagedSecret: true } : {}),
          ...(start.staleDiscarded ? { staleStagedSecretDiscarded: true } : {}),
          sessionsTerminated,
          storedAs: 'SCRAM-SHA-256 verifier',
        },
      },
    };
  }

  async function revoke(target: RotationTarget, context: RotationContext): Promise<RotationOutcome> {
    const { role, server } = checked(target);
    // NOLOGIN refuses the role after authentication (28000) whatever pg_hba says, trust included;
    // PASSWORD NULL makes every password fail (28P01) where passwords are checked.
    await admin(`ALTER ROLE ${pg.escapeIdentifier(role)} NOLOGIN PASSWORD NULL`, 'ALTER ROLE … NOLOGIN', target);
    // A password staged by an interrupted rotation no longer opens anything; no copy of it stays on disk.
    await context.staging?.discard(target);
    const sessionsTerminated = await terminateSessions(target, role);
    const previous = await context.previousSecret?.(target);
    const presented = previous && previous.length > 0 ? 'previous_secret' : 'random_password';
    const attempt = await login(server, role, previous && previous.length > 0 ? previous.toString('utf8') : randomToken(random, 32));
    const at = context.now();
    if (attempt.ok) {
      throw rotationError('rotation_old_credential_accepted', `postgres-role ${target.itemId}: the role still logs in after NOLOGIN`);
    }
    if (attempt.sqlstate !== INVALID_AUTHORIZATION && attempt.sqlstate !== INVALID_PASSWORD) {
      throw rotationError(
        'rotation_probe_failed',
        `postgres-role ${target.itemId}: the login probe at ${serverName(server)} answered ${attempt.answer}`,
      );
    }
    // Without the previous secret a refused login alone proves little (a random password is refused
    // anyway): the catalog must also say the role can no longer log in at all.
    const catalog = await admin('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', 'reading pg_roles', target, [role]);
    if (catalog.rows[0]?.rolcanlogin !== false) {
      throw rotationError('rotation_probe_failed', `postgres-role ${target.itemId}: pg_roles does not show the role as NOLOGIN after revocation`);
    }
    return {
      rotatedAt: at,
      deliveredTo: 'none',
      evidence: {
        kind: 'revocation_probed',
        at,
        detail: {
          probe: 'login',
          server: serverName(server),
          role,
          presented,
          answer: attempt.answer,
          catalog: 'rolcanlogin = false, password removed',
          sessionsTerminated,
        },
      },
    };
  }

  return { name: 'postgres-role', validate, rotate, revoke };
}

/** Host, port and database of a postgres:// URL; undefined when it is not one or carries credentials. */
function probeServerOf(url: string, fromInventory = false): ProbeServer | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return undefined;
  // The inventory holds no secrets, and the probe logs in as the locator's role, not as the URL's user.
  if (fromInventory && (parsed.password !== '' || parsed.username !== '')) return undefined;
  // A Unix-socket directory (`?host=/run/postgresql`) as libpq and node-postgres accept it.
  const host = parsed.searchParams.get('host') ?? parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) return undefined;
  const port = parsed.port === '' ? 5432 : Number(parsed.port);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  return { host, port, database };
}

function serverName(server: ProbeServer): string {
  return `${server.host}:${server.port}/${server.database}`;
}
