/**
 * The one JSON style of every `--json` output (docs/cli.md, "Output and exit codes"): camelCase keys,
 * ISO 8601 times, arrays for lists, `null` for an absent value. Commands build their data for people
 * and for scripts at once; this pass is the single place that makes the JSON side uniform, so a new
 * command cannot drift into epoch milliseconds or a `-` placeholder.
 */

/** Keys whose numeric value is a time in epoch milliseconds (`createdAt`, `expires_at`, `at`, `since`, …). */
const TIME_KEY = /(^at$|At$|_at$|^since$|^until$|^time$|Until$|Since$|^notBefore$|^notAfter$)/;
/** Milliseconds after 2001-09-09: smaller numbers under a time key are durations or counts, left alone. */
const EPOCH_MS_FLOOR = 1_000_000_000_000;

export function camelCase(key: string): string {
  return key.includes('_') && /^[a-z0-9_]+$/.test(key) ? key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

export function isoOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isTimeKey(key: string): boolean {
  return TIME_KEY.test(key);
}

/** Documents in a standard of their own, passed through untouched (STIX 2.1 names its keys in snake_case). */
const OPAQUE = new Set(['stix']);
/** Maps keyed by data (an audit event's detail as recorded and hashed, counts per state): keys kept as they are. */
const DATA_KEYED = new Set(['detail', 'counts', 'byState', 'byEndState']);

export function jsonStyle(value: unknown, key = '', keepKeys = false): unknown {
  if (OPAQUE.has(key)) return value ?? null;
  if (value === undefined || value === '-') return null;
  if (typeof value === 'number' && isTimeKey(key) && Number.isFinite(value) && value >= EPOCH_MS_FLOOR) return isoOf(value);
  if (value instanceof Date) return isoOf(value.getTime());
  if (Array.isArray(value)) return value.map((item) => jsonStyle(item, '', keepKeys));
  if (value !== null && typeof value === 'object') {
    // Plain records only: a class instance with toJSON (a Buffer, a URL) keeps its own form.
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
    const out: Record<string, unknown> = {};
    const keep = keepKeys || DATA_KEYED.has(key);
    for (const [k, v] of Object.entries(value)) out[keep ? k : camelCase(k)] = jsonStyle(v, k, keep);
    return out;
  }
  return value;
}
