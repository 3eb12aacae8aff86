/**
 * Whether `error` (or one of its causes) says the database cannot be reached at all, as opposed to a
 * query that failed on its own (constraint, bad SQL, serialisation). Only the first kind is an outage:
 * the request was fine and will work once the store is back, so it is answered 503, not 500.
 */

/** Socket-level failures of the PostgreSQL client (Node's errno codes). */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * PostgreSQL SQLSTATEs (Appendix A): class 08 connection exception; 57P01 admin_shutdown,
 * 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, in recovery).
 */
const POSTGRES_STATES = /^(08[0-9A-Z]{3}|57P0[123])$/;

/**
 * SQLite result codes (sqlite.org/rescode.html), extended codes included (`SQLITE_IOERR_WRITE`...):
 * still locked after busy_timeout, disk I/O failing, the file gone or unreadable.
 */
const SQLITE_CODES = /^SQLITE_(BUSY|IOERR|CANTOPEN)(_[A-Z_]+)?$/;

/** node-postgres reports a dropped connection or a pool that could not connect only in the message. */
const POSTGRES_CLIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
];

function isUnavailableItself(error: object): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || POSTGRES_STATES.test(code) || SQLITE_CODES.test(code))) return true;
  return typeof message === 'string' && POSTGRES_CLIENT_MESSAGES.some((text) => message.startsWith(text));
}

export function isStoreUnavailable(error: unknown): boolean {
  // Follows `cause` (a domain error wrapping a store error) and AggregateError (Node 20 tries every
  // address of `localhost` and reports ECONNREFUSED for each), a few levels deep.
  const pending: unknown[] = [error];
  for (let seen = 0; pending.length > 0 && seen < 8; seen++) {
    const next = pending.shift();
    if (typeof next !== 'object' || next === null) continue;
    if (isUnavailableItself(next)) return true;
    pending.push((next as { cause?: unknown }).cause);
    if (next instanceof AggregateError) pending.push(...(next.errors as unknown[]));
  }
  return false;
}
