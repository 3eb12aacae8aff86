/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header §2.1: an RFC 8941
 * sf-string, e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"`). Many clients send the bare value
 * (`Idempotency-Key: 8e03978e-…`), so an unquoted run of visible ASCII without quotes, commas or
 * spaces is read as the same key. Returns the key, undefined when the header is absent, or why it is
 * refused: a header sent twice (two keys for one request: which one would be honoured?), empty, longer
 * than 255 characters, or outside printable ASCII.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
const MAX_KEY_LENGTH = 255;
const BARE = /^[\x21\x23-\x2b\x2d-\x7e]+$/;
// RFC 8941 §3.3.3: printable ASCII; `"` and `\` only escaped.
const QUOTED = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/;

export function parseIdempotencyKey(rawHeaders: readonly string[]): { key: string } | { refused: string } | undefined {
  const values: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === IDEMPOTENCY_KEY_HEADER) values.push(rawHeaders[i + 1]!);
  if (values.length === 0) return undefined;
  if (values.length > 1) return { refused: `Idempotency-Key sent ${values.length} times` };
  const value = values[0]!.trim();
  if (value.length > MAX_KEY_LENGTH + 2) return { refused: `Idempotency-Key longer than ${MAX_KEY_LENGTH} characters` };
  const quoted = QUOTED.exec(value);
  const key = quoted ? quoted[1]!.replace(/\\(["\\])/g, '$1') : BARE.test(value) ? value : undefined;
  if (key === undefined) return { refused: 'Idempotency-Key must be a quoted string or visible ASCII without spaces, quotes or commas' };
  if (key.length === 0) return { refused: 'Idempotency-Key is empty' };
  if (key.length > MAX_KEY_LENGTH) return { refused: `Idempotency-Key longer than ${MAX_KEY_LENGTH} characters` };
  return { key };
}
