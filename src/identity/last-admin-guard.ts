import { sql, type Kysely } from 'kysely';
import { GatehouseError } from '../lib/errors.js';
import type { Database, Dialect } from '../store/index.js';

/**
 * The last-administrator guard, held across instances.
 *
 * The attack: two administrators remove each other at the same moment (or a script in one
 * compromised admin's browser sends both requests, to two instances behind the load balancer). A guard
 * that asks "is there another usable administrator?" and then acts in a later statement lets both
 * through: each sees the other, both act, and nobody is left who can use the console to undo it.
 *
 * So the change and the count run in one transaction, behind one lock that every guarded change takes
 * first: on PostgreSQL a transaction-scoped advisory lock (released by COMMIT or ROLLBACK, so a crashed
 * instance never holds it), on SQLite the database's write lock, taken by the first statement being a
 * write (BEGIN IMMEDIATE semantics: a deferred transaction that read first could not upgrade). Under
 * that lock every statement sees what the other guarded changes committed (PostgreSQL READ COMMITTED
 * takes a new snapshot per statement), and a change that took away the last usable administrator
 * rolls back with `last_admin`.
 *
 * Usable means what the console requires: active, in an admin group, with at least one key.
 */
export const LAST_ADMIN_CODE = 'last_admin';

/** The guard's settings: which groups make an administrator (`identity.admin_groups`). */
export interface KeepUsableAdmin {
  adminGroups: readonly string[];
}

/**
 * The host operator's explicit choice to go ahead even if no usable administrator is left (the CLI's
 * `--allow-no-admin`): the change runs unguarded, and its audit event carries `allowNoAdmin: true` so
 * the log shows the lock-out was meant, not a slip.
 */
export interface AllowNoAdmin {
  allowNoAdmin: true;
}

/** What a guarded change is given: keep a usable administrator, or the operator's explicit override. */
export type AdminGuard = KeepUsableAdmin | AllowNoAdmin;

/** The audit detail a change adds for `guard`: the override is recorded, the default says nothing. */
export function adminGuardDetail(guard: AdminGuard | undefined): { allowNoAdmin?: true } {
  return guard && 'allowNoAdmin' in guard ? { allowNoAdmin: true } : {};
}

/** A fixed key for pg_advisory_xact_lock: "gh-admin" in ASCII, so it names itself in pg_locks. */
const ADMIN_GUARD_LOCK = 0x67682d61646d696en;

async function takeAdminGuardLock(trx: Kysely<Database>, dialect: Dialect, userId: string): Promise<void> {
  if (dialect === 'postgres') {
    const { rows } = await sql<{ isolation: string }>`select pg_advisory_xact_lock(${sql.lit(ADMIN_GUARD_LOCK.toString())}::bigint), current_setting('transaction_isolation') as isolation`.execute(trx);
    // Under REPEATABLE READ (a server or role default) the count would read the snapshot taken before
    // the lock was granted and miss the other change: refuse rather than guard nothing. SERIALIZABLE
    // is safe (one of two such changes fails to commit).
    if (rows[0]?.isolation === 'repeatable read') {
      throw new Error('the last-administrator guard needs READ COMMITTED or SERIALIZABLE transactions; this connection defaults to REPEATABLE READ');
    }
  } else {
    // A write that changes nothing: SQLite takes its one write lock here, before the count reads.
    await trx.updateTable('users').set((eb) => ({ status: eb.ref('status') })).where('id', '=', userId).execute();
  }
}

/** Usable administrators: all of them, or only `userId`'s row when given. */
async function countUsableAdmins(db: Kysely<Database>, adminGroups: readonly string[], userId?: string): Promise<number> {
  if (adminGroups.length === 0) return 0;
  let query = db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('users.status', '=', 'active')
    .where('users.id', 'in', (eb) => eb.selectFrom('group_members').select('group_members.user_id').where('group_members.group_name', 'in', [...adminGroups]))
    .where((eb) => eb.exists(eb.selectFrom('credentials').select('credentials.id').whereRef('credentials.user_id', '=', 'users.id')));
  if (userId !== undefined) query = query.where('users.id', '=', userId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

/**
 * Runs `change` on `userId` inside `trx` behind the guard's lock, and throws `last_admin` (rolling the
 * transaction back) when `userId` was a usable administrator before and none is left after. A user who
 * was not usable (a keyless or disabled admin, anyone outside the admin groups) is never refused.
 */
export async function withLastAdminGuard<T>(trx: Kysely<Database>, dialect: Dialect, guard: KeepUsableAdmin, userId: string, change: () => Promise<T>): Promise<T> {
  await takeAdminGuardLock(trx, dialect, userId);
  const wasUsable = (await countUsableAdmins(trx, guard.adminGroups, userId)) > 0;
  const result = await change();
  if (wasUsable && (await countUsableAdmins(trx, guard.adminGroups)) === 0) {
    throw new GatehouseError(LAST_ADMIN_CODE, {
      status: 409,
      publicMessage: 'This would leave no active administrator who can sign in with a key: add another administrator first.',
      detail: `the change to user ${userId} would leave no usable member of ${guard.adminGroups.join(', ')}`,
    });
  }
  return result;
}

