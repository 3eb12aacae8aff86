/**
 * Deterministic JSON in the manner of RFC 8785 (JCS): object keys sorted by UTF-16 code units (§3.2.3),
 * no whitespace, strings and numbers serialized as ECMAScript JSON.stringify does (§3.2.2.2, §3.2.2.3).
 * Hash chains compare bytes, so two processes must turn the same event into the same text whatever
 * order its properties were built in.
 *
 * Input is first reduced to the JSON data model (`toJSON`, dropped `undefined`, non-finite numbers as
 * null), exactly as the stored `detail` text will read back, so canonicalizing a value and its stored,
 * re-parsed copy gives the same string.
 */
export function canonicalJson(value: unknown): string {
  return serialize(toJsonValue(value));
}

/** The value as JSON.parse(JSON.stringify(value)) would return it; `undefined` for no JSON value. */
export function toJsonValue(value: unknown): unknown {
  const text = JSON.stringify(value);
  return text === undefined ? undefined : (JSON.parse(text) as unknown);
}

/** For a value already in the JSON data model (fresh from JSON.parse): skips the normalizing round trip. */
export function canonicalJsonOfParsed(value: unknown): string {
  return serialize(value);
}

function serialize(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(serialize).join(',')}]`;
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${serialize(record[key])}`).join(',')}}`;
}
