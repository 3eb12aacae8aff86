import { isIP } from 'node:net';
import { GatehouseError } from '../lib/errors.js';
import { QUERY_VERDICTS, type QueryLogFilter, type QueryVerdict } from './dns-query.js';

export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 500;

function bad(parameter: string, why: string): GatehouseError {
  return new GatehouseError('invalid_input', { status: 400, publicMessage: `The search parameter "${parameter}" ${why}.` });
}

/** A time from a `datetime-local` field or an ISO string, read as UTC (the console shows UTC). */
function timeParam(parameter: string, value: string): number | undefined {
  if (value === '') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)?Z?$/.test(value)) throw bad(parameter, 'is not a date and time (2026-12-07T15:30, UTC)');
  const ms = Date.parse(`${value.replace(' ', 'T')}${value.endsWith('Z') ? '' : value.length <= 10 ? 'T00:00Z' : 'Z'}`);
  if (!Number.isFinite(ms)) throw bad(parameter, 'is not a real date');
  return ms;
}

/** What the DNS page's query-log search asks, as typed (shown back in the form), and the filter it makes. */
export interface QueryLogSearch {
  form: { name: string; match: 'exact' | 'prefix'; client: string; user: string; verdict: string; from: string; to: string; limit: number };
  filter: Omit<QueryLogFilter, 'userId'>;
}

/**
 * The query-log search parameters, each checked: a name is a host name or its beginning (no
 * wildcards: a search is an index range, never a scan), a client an address, a verdict one of the
 * gateway's, times UTC, the page size bounded, the cursor two integers. A bad one is a 400 naming it.
 */
export function parseQueryLogSearch(query: Record<string, unknown>): QueryLogSearch {
  const text = (parameter: string, max: number): string => {
    const value = query[parameter];
    if (value === undefined) return '';
    if (typeof value !== 'string') throw bad(parameter, 'is given more than once');
    if (value.length > max) throw bad(parameter, `is longer than ${max} characters`);
    return value.trim();
  };
  let name = text('name', 253).toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name && !/^[\p{L}\p{N}\p{M}._-]+$/u.test(name)) throw bad('name', 'may hold letters, digits, dots, hyphens and underscores only (a name or its beginning, no wildcards)');
  const match = text('match', 10) || 'exact';
  if (match !== 'exact' && match !== 'prefix') throw bad('match', 'must be exact or prefix');
  const client = text('client', 64);
  if (client && isIP(client) === 0) throw bad('client', 'is not an IP address');
  const user = text('user', 320).toLowerCase();
  const verdict = text('verdict', 10);
  if (verdict && !(QUERY_VERDICTS as readonly string[]).includes(verdict)) throw bad('verdict', `must be one of ${QUERY_VERDICTS.join(', ')}`);
  const fromText = text('from', 30);
  const toText = text('to', 30);
  const from = timeParam('from', fromText);
  const to = timeParam('to', toText);
  if (from !== undefined && to !== undefined && from >= to) throw bad('to', 'is not after "from"');
  const limitText = text('limit', 4);
  const limit = limitText === '' ? DEFAULT_PAGE_SIZE : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) throw bad('limit', `must be a whole number from 1 to ${MAX_PAGE_SIZE}`);
  const beforeText = text('before', 40);
  const cursor = /^(\d{1,16})\.(\d{1,16})$/.exec(beforeText);
  if (beforeText && !cursor) throw bad('before', 'is not a page cursor');
  return {
    form: { name, match, client, user, verdict, from: fromText, to: toText, limit },
    filter: {
      match,
      limit,
      ...(name ? { name } : {}),
      ...(client ? { client } : {}),
      ...(verdict ? { verdict: verdict as QueryVerdict } : {}),
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(cursor ? { before: { at: Number(cursor[1]), id: Number(cursor[2]) } } : {}),
    },
  };
}
