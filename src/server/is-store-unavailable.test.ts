import { describe, expect, it } from 'vitest';
import { GatehouseError } from '../lib/errors.js';
import { isStoreUnavailable } from './is-store-unavailable.js';

const withCode = (code: string, message = 'store error') => Object.assign(new Error(message), { code });

describe('isStoreUnavailable', () => {
  it('recognises PostgreSQL connection failures: socket errors, SQLSTATE 08xxx and 57P01-03, dropped connections', () => {
    for (const error of [
      withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
      new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'),
      withCode('08006', 'connection failure'),
      withCode('08P01'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P03', 'the database system is starting up'),
      new Error('Connection terminated unexpectedly'),
      new Error('timeout exceeded when trying to connect'),
    ]) {
      expect(isStoreUnavailable(error)).toBe(true);
    }
  });

  it('recognises SQLite busy, I/O and cannot-open errors, extended codes included', () => {
    for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN']) {
      expect(isStoreUnavailable(withCode(code))).toBe(true);
    }
  });

  it('finds the outage under a domain error that wraps it', () => {
    expect(isStoreUnavailable(new GatehouseError('sign_in_failed', { status: 400, cause: withCode('57P01') }))).toBe(true);
  });

  it('does not take query errors, domain errors or non-errors for an outage', () => {
    for (const error of [
      withCode('23505', 'duplicate key value violates unique constraint'),
      withCode('42P01', 'relation does not exist'),
      withCode('40001', 'could not serialize access'),
      withCode('SQLITE_CONSTRAINT_UNIQUE'),
      withCode('SQLITE_ERROR'),
      new GatehouseError('bad_credentials', { status: 401 }),
      new Error('Connection refused by policy'),
      undefined,
      'ECONNREFUSED',
    ]) {
      expect(isStoreUnavailable(error)).toBe(false);
    }
  });
});
