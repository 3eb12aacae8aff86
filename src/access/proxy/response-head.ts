import { invalidResponse } from './upstream-failure.js';

/** How the body of an upstream response is delimited (RFC 9112 §6.3). */
export type ResponseFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' } | { kind: 'close' };

export interface ResponseHead {
  status: number;
  /** Flat name/value list, names as sent, values without surrounding whitespace. */
  rawHeaders: string[];
  framing: ResponseFraming;
  /** The connection may carry another request after this response (HTTP/1.1 without `close`). */
  keepAlive: boolean;
}

/** A head larger than this is refused: nothing legitimate needs more, and the buffer is ours to bound. */
export const MAX_RESPONSE_HEAD_BYTES = 64 * 1024;

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-5]\d\d)(?: [^\x00-\x08\x0a-\x1f\x7f]*)?$/;
// RFC 9110 §5.1: field-name = token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// RFC 9110 §5.5: CR, LF and NUL are never valid in a field value (CR and LF cannot occur here: the
// head is split on CRLF and a bare CR or LF is refused below).
const INVALID_VALUE = /[\x00\r\n]/;
const DIGITS = /^\d{1,15}$/;

/**
 * Parses the bytes of a response head up to, not including, the blank line. Strict where leniency
 * would let the upstream and Gatehouse disagree on where a response ends (response splitting and
 * desync): bare CR or LF, obs-fold (RFC 9112 §5.2), whitespace before the colon (§5.1), Content-Length
 * together with Transfer-Encoding or with differing values (§6.3), a transfer coding other than
 * chunked, and 101 on a request that did not ask for an upgrade are all refused. Throws
 * `UpstreamFailure` (UPSTREAM_INVALID_RESPONSE).
 */
export function parseResponseHead(text: string, requestMethod: string): ResponseHead {
  if (/\r(?!\n)|(?<!\r)\n/.test(text)) throw invalidResponse('bare CR or LF in the response head');
  const lines = text.split('\r\n');
  const status = STATUS_LINE.exec(lines[0]!);
  if (status === null) throw invalidResponse(`malformed status line ${JSON.stringify(lines[0]!.slice(0, 80))}`);
  const http11 = status[1] === '1';
  const code = Number(status[2]);
  if (code === 101) throw invalidResponse('101 Switching Protocols on a request that asked for no upgrade');

  const rawHeaders: string[] = [];
  let contentLength: string | undefined;
  let transferEncoding: string | undefined;
  let connection = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) throw invalidResponse(line.length > 0 && (line[0] === ' ' || line[0] === '\t') ? 'obsolete line folding in a response field' : 'response field line without a name');
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw invalidResponse(`invalid response field name ${JSON.stringify(name.slice(0, 40))}`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (INVALID_VALUE.test(value)) throw invalidResponse(`invalid character in response field ${name}`);
    rawHeaders.push(name, value);
    const length = name.length;
    if (length === 14 && name.toLowerCase() === 'content-length') contentLength = contentLength === undefined ? value : `${contentLength},${value}`;
    else if (length === 17 && name.toLowerCase() === 'transfer-encoding') transferEncoding = transferEncoding === undefined ? value : `${transferEncoding},${value}`;
    else if (length === 10 && name.toLowerCase() === 'connection') connection += `,${value.toLowerCase()}`;
  }

  const keepAlive = http11 && !/(^|,)\s*close\s*(,|$)/.test(connection);
  // RFC 9112 §6.3 rule 1: these responses end at the head whatever their fields say.
  if (requestMethod === 'HEAD' || code < 200 || code === 204 || code === 304) return { status: code, rawHeaders, framing: { kind: 'none' }, keepAlive };
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw invalidResponse('both Transfer-Encoding and Content-Length in the response');
    if (transferEncoding.trim().toLowerCase() !== 'chunked') throw invalidResponse(`unsupported response transfer coding ${JSON.stringify(transferEncoding.slice(0, 40))}`);
    return { status: code, rawHeaders, framing: { kind: 'chunked' }, keepAlive };
  }
  if (contentLength !== undefined) {
    const values = contentLength.split(',').map((v) => v.trim());
    // RFC 9110 §8.6: a list of identical values may be taken as one; anything else is an error.
    if (!values.every((v) => DIGITS.test(v) && v === values[0])) throw invalidResponse(`invalid Content-Length ${JSON.stringify(contentLength.slice(0, 40))}`);
    return { status: code, rawHeaders, framing: { kind: 'length', length: Number(values[0]) }, keepAlive };
  }
  // Neither: the body runs until the upstream closes (§6.3 rule 8), so the connection cannot be reused.
  return { status: code, rawHeaders, framing: { kind: 'close' }, keepAlive: false };
}
