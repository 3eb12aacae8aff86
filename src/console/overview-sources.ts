import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/index.js';

/** What the overview counts; each is broken down by a label. */
export type OverviewSeriesName = 'sign_in' | 'denial' | 'alert' | 'dns' | 'lookalike';
export const OVERVIEW_SERIES: readonly OverviewSeriesName[] = ['sign_in', 'denial', 'alert', 'dns', 'lookalike'];

/** One count: `series`/`label` events whose time falls in the bucket starting at `bucketStart`. */
export interface SeriesCount {
  bucketStart: number;
  series: OverviewSeriesName;
  label: string;
  count: number;
}

/** The DNS gateway logs a classifier verdict as `classify:<first reason>`; a lookalike's first is `lookalike`. */
const LOOKALIKE_REASON = 'classify:lookalike';
/** Codes are ours (stable error codes), but a bound keeps a strange row from making a huge label. */
const LABEL_MAX = 64;

/**
 * How a successful sign-in proved itself, from its audit detail: a WebAuthn sign-in records the
 * credential's class (hwk: security key, swk: passkey), a legacy one `password+totp` or `password`.
 */
export function signInMethodOf(detail: string): string {
  try {
    const parsed = JSON.parse(detail) as { method?: unknown; class?: unknown };
    if (parsed.method === 'webauthn') return parsed.class === 'hwk' || parsed.class === 'swk' ? parsed.class : 'webauthn';
    if (parsed.method === 'password+totp' || parsed.method === 'password') return parsed.method;
  } catch {
    // a detail edited by hand: still a sign-in
  }
  return 'other';
}

function label(value: string | null): string {
  return (value ?? 'unknown').slice(0, LABEL_MAX);
}

/** `at` floored to a multiple of the width (epoch-aligned, so UTC hours and days). The width is ours, inlined as a literal. */
function bucketOf(width: number) {
  if (!Number.isSafeInteger(width) || width <= 0) throw new Error(`bucket width must be a positive integer of ms, got ${width}`);
  return sql<number>`(at - (at % ${sql.lit(width)}))`;
}

/**
 * Counts every overview series straight from the raw rows with `from <= at < to`, per bucket of
 * `width` ms. The rollup pass calls it on completed buckets, the page on the part after the rollups,
 * and the naive comparison on the whole range: one definition of what each chart counts.
 *
 * Sign-ins and refusals come from the audit log (`sign_in`, `access.denied`, `incident.alert`, read
 * through `audit_events_type_at`); DNS from the query log through `dns_queries_at`.
 */
export async function countRawSeries(db: Kysely<Database>, from: number, to: number, width: number): Promise<SeriesCount[]> {
  const bucket = bucketOf(width);
  const [grouped, signIns, dns] = await Promise.all([
    db
      .selectFrom('audit_events')
      .select([bucket.as('bucket'), 'type', 'outcome', 'code', (eb) => eb.fn.countAll<number>().as('n')])
      .where('type', 'in', ['sign_in', 'access.denied', 'incident.alert'])
      .where('at', '>=', from)
      .where('at', '<', to)
      .groupBy([sql`1`, sql`2`, sql`3`, sql`4`])
      .execute(),
    db
      .selectFrom('audit_events')
      .select([bucket.as('bucket'), 'detail'])
      .where('type', '=', 'sign_in')
      .where('outcome', '=', 'success')
      .where('at', '>=', from)
      .where('at', '<', to)
      .execute(),
    db
      .selectFrom('dns_queries')
      .select([
        bucket.as('bucket'),
        'verdict',
        sql<number>`(CASE WHEN reason = ${LOOKALIKE_REASON} THEN 1 ELSE 0 END)`.as('lookalike'),
        (eb) => eb.fn.countAll<number>().as('n'),
      ])
      .where('at', '>=', from)
      .where('at', '<', to)
      .groupBy([sql`1`, sql`2`, sql`3`])
      .execute(),
  ]);
  const counts = new Map<string, SeriesCount>();
  const add = (bucketStart: number, series: OverviewSeriesName, name: string, n: number) => {
    const key = `${bucketStart}\u0000${series}\u0000${name}`;
    const found = counts.get(key);
    if (found) found.count += n;
    else counts.set(key, { bucketStart, series, label: name, count: n });
  };
  for (const row of grouped) {
    const n = Number(row.n);
    const at = Number(row.bucket);
    if (row.type === 'access.denied') add(at, 'denial', label(`access:${label(row.code)}`), n);
    else if (row.type === 'incident.alert') add(at, 'alert', label(row.code), n);
    else if (row.outcome === 'failure') add(at, 'denial', label(`sign_in:${label(row.code)}`), n);
    // successful sign-ins are counted by method below, from their detail
  }
  for (const row of signIns) add(Number(row.bucket), 'sign_in', signInMethodOf(row.detail), 1);
  for (const row of dns) {
    const n = Number(row.n);
    const at = Number(row.bucket);
    add(at, 'dns', label(row.verdict), n);
    if (Number(row.lookalike) === 1) add(at, 'lookalike', label(row.verdict), n);
  }
  return [...counts.values()];
}
