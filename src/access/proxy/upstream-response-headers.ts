/** RFC 9110 §7.6.1 hop-by-hop response fields; Proxy-Authenticate is addressed to a proxy, not the browser. */
const DROPPED_RESPONSE_FIELDS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The upstream's response fields as a flat name/value list for `res.writeHead`, without hop-by-hop
 * fields (Node re-frames the body for the client: its own Connection and Transfer-Encoding). Undici
 * hands raw header bytes; field values are Latin-1 on the wire (RFC 9110 §5.5).
 */
export function filterUpstreamResponseHeaders(raw: readonly (Buffer | string)[], protectedCookies: ReadonlySet<string> | null = null): string[] {
  const out: string[] = [];
  let connection: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    const value = latin1(raw[i + 1]!);
    // Every dropped name is 2, 7, 10, 16, 17 or 18 characters long: others skip the lower-casing.
    const length = name.length;
    if (length === 2 || length === 7 || length === 10 || length === 16 || length === 17 || length === 18) {
      const lower = name.toLowerCase();
      if (DROPPED_RESPONSE_FIELDS.has(lower)) {
        if (lower === 'connection') connection = connection === undefined ? value : `${connection},${value}`;
        continue;
      }
      // An app must not set Gatehouse's own session cookies (with a parent Domain it could fixate the
      // portal session of everyone who visits it).
      if (protectedCookies !== null && lower === 'set-cookie' && protectedCookies.has(value.slice(0, value.indexOf('=')).trim())) continue;
    }
    out.push(name, value);
  }
  if (connection === undefined) return out;
  const listed = new Set<string>();
  for (const option of connection.split(',')) {
    const name = option.trim().toLowerCase();
    // Connection options never remove the field that frames the body.
    if (name !== '' && name !== 'close' && name !== 'keep-alive' && name !== 'content-length') listed.add(name);
  }
  if (listed.size === 0) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (!listed.has(out[i]!.toLowerCase())) kept.push(out[i]!, out[i + 1]!);
  return kept;
}

function latin1(value: Buffer | string): string {
  return typeof value === 'string' ? value : value.toString('latin1');
}
