/** Request framing towards the upstream: the client's Content-Length kept, otherwise chunked. */
export type RequestBodyFraming = 'none' | 'length' | 'chunked';

// RFC 9110 §5.5 / RFC 9112 §3: nothing in the request line or a field may end a line early.
const UNSAFE_IN_TARGET = /[\x00-\x20\x7f]/;
const UNSAFE_IN_VALUE = /[\x00\r\n]/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Serialises the request head sent upstream (RFC 9112 §3, origin-form). The fields come from Node's
 * parser or from Gatehouse itself, but every one is checked again here: a CR or LF that slipped into
 * a value would let whoever controls it write a second request on the upstream connection. Throws
 * TypeError naming the field.
 */
export function serializeRequestHead(method: string, path: string, headers: readonly string[], hasBody: boolean): { head: string; framing: RequestBodyFraming } {
  if (!TOKEN.test(method)) throw new TypeError(`invalid request method ${JSON.stringify(method.slice(0, 20))}`);
  if (path.length === 0 || UNSAFE_IN_TARGET.test(path)) throw new TypeError('invalid request target');
  let head = `${method} ${path} HTTP/1.1\r\n`;
  let hasLength = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!TOKEN.test(name)) throw new TypeError(`invalid request field name ${JSON.stringify(name.slice(0, 40))}`);
    if (UNSAFE_IN_VALUE.test(value)) throw new TypeError(`invalid character in request field ${name}`);
    if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasBody) return { head: `${head}\r\n`, framing: 'none' };
  if (hasLength) return { head: `${head}\r\n`, framing: 'length' };
  return { head: `${head}transfer-encoding: chunked\r\n\r\n`, framing: 'chunked' };
}
