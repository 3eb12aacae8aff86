import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkedDecoder } from './chunked-decoder.js';
import { parseResponseHead } from './response-head.js';
import { UpstreamFailure } from './upstream-failure.js';

const head = (...lines: string[]): string => lines.join('\r\n');

function refusal(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UpstreamFailure);
    expect((error as UpstreamFailure).code).toBe('UPSTREAM_INVALID_RESPONSE');
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('parseResponseHead', () => {
  it('reads status, fields as sent and Content-Length framing', () => {
    const parsed = parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Type: text/plain', 'Set-Cookie: a=1', 'Set-Cookie: b=2', 'Content-Length:  5 '), 'GET');
    expect(parsed.status).toBe(200);
    expect(parsed.rawHeaders).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Content-Length', '5']);
    expect(parsed.framing).toEqual({ kind: 'length', length: 5 });
    expect(parsed.keepAlive).toBe(true);
  });

  it('frames by RFC 9112 §6.3: HEAD, 204 and 304 end at the head; chunked; until close', () => {
    expect(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 10'), 'HEAD').framing).toEqual({ kind: 'none' });
    expect(parseResponseHead(head('HTTP/1.1 204 No Content', 'Content-Length: 10'), 'GET').framing).toEqual({ kind: 'none' });
    expect(parseResponseHead(head('HTTP/1.1 304 Not Modified'), 'GET').framing).toEqual({ kind: 'none' });
    expect(parseResponseHead(head('HTTP/1.1 200 OK', 'Transfer-Encoding: Chunked'), 'GET').framing).toEqual({ kind: 'chunked' });
    const untilClose = parseResponseHead('HTTP/1.1 200', 'GET');
    expect(untilClose.framing).toEqual({ kind: 'close' });
    expect(untilClose.keepAlive).toBe(false);
  });

  it('does not reuse a connection the upstream closes or an HTTP/1.0 one', () => {
    expect(parseResponseHead(head('HTTP/1.1 200 OK', 'Connection: keep-alive, Close', 'Content-Length: 0'), 'GET').keepAlive).toBe(false);
    expect(parseResponseHead(head('HTTP/1.0 200 OK', 'Content-Length: 0'), 'GET').keepAlive).toBe(false);
  });

  it('accepts a repeated identical Content-Length (RFC 9110 §8.6)', () => {
    expect(parseResponseHead(head('HTTP/1.1 200 OK', 'Content-Length: 7, 7', 'Content-Length: 7'), 'GET').framing).toEqual({ kind: 'length', length: 7 });
  });

  const refused: [string, string, RegExp][] = [
    ['Transfer-Encoding with Content-Length (desync)', head('HTTP/1.1 200 OK', 'Transfer-Encoding: chunked', 'Content-Length: 3'), /both Transfer-Encoding and Content-Length/],
    ['differing Content-Length values', head('HTTP/1.1 200 OK', 'Content-Length: 3', 'Content-Length: 4'), /invalid Content-Length/],
    ['a signed Content-Length', head('HTTP/1.1 200 OK', 'Content-Length: +3'), /invalid Content-Length/],
    ['a transfer coding other than chunked', head('HTTP/1.1 200 OK', 'Transfer-Encoding: gzip, chunked'), /unsupported response transfer coding/],
    ['obs-fold (RFC 9112 §5.2)', head('HTTP/1.1 200 OK', 'X-A: one', ' two', 'Content-Length: 0'), /obsolete line folding/],
    ['whitespace before the colon (RFC 9112 §5.1)', head('HTTP/1.1 200 OK', 'Content-Length : 0'), /invalid response field name/],
    ['a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 0', /bare CR or LF/],
    ['a bare CR', head('HTTP/1.1 200 OK', 'X-A: a\rb'), /bare CR or LF/],
    ['a NUL in a value', head('HTTP/1.1 200 OK', 'X-A: a\u0000b'), /invalid character/],
    ['not HTTP', 'NOT HTTP AT ALL', /malformed status line/],
    ['a status out of range', 'HTTP/1.1 600 Nope', /malformed status line/],
    ['HTTP/2 on an HTTP/1.1 connection', 'HTTP/2 200 OK', /malformed status line/],
    ['101 to a plain request', head('HTTP/1.1 101 Switching Protocols', 'Upgrade: h2c'), /101 Switching Protocols/],
    ['a field line without a name', head('HTTP/1.1 200 OK', ': value'), /without a name/],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name}`, () => expect(refusal(() => parseResponseHead(text, 'GET'))).toMatch(message));
  }

  it('throws nothing but UpstreamFailure on arbitrary heads', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.constantFrom('GET', 'HEAD'), (text, method) => {
        try {
          parseResponseHead(`HTTP/1.1 200 OK\r\n${text}`, method);
        } catch (error) {
          expect(error).toBeInstanceOf(UpstreamFailure);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

function decodeAll(pieces: Buffer[]): { body: string; used: number; done: boolean } {
  const decoder = new ChunkedDecoder();
  const parts: Buffer[] = [];
  let used = 0;
  for (const piece of pieces) {
    used += decoder.feed(piece, (data) => parts.push(Buffer.from(data)));
    if (decoder.done) break;
  }
  return { body: Buffer.concat(parts).toString('latin1'), used, done: decoder.done };
}

describe('ChunkedDecoder', () => {
  it('decodes sizes in any case, skips extensions, drops trailers and stops at the end of the message', () => {
    const wire = '5;name="v"\r\nhello\r\nA\r\n, chunked!\r\n0\r\nX-Checksum: abc\r\n\r\nNEXT';
    const result = decodeAll([Buffer.from(wire, 'latin1')]);
    expect(result).toEqual({ body: 'hello, chunked!', used: wire.length - 4, done: true });
  });

  it('gives the same body however the bytes are split across reads', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (chunks, cuts) => {
        const wire = Buffer.from(`${chunks.map((c) => `${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`).join('')}0\r\n\r\n`);
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let start = 0;
        for (const point of [...points, wire.length]) {
          pieces.push(wire.subarray(start, point));
          start = point;
        }
        const result = decodeAll(pieces);
        expect(result.done).toBe(true);
        expect(result.used).toBe(wire.length);
        expect(result.body).toBe(Buffer.from(chunks.join('')).toString('latin1'));
      }),
      { numRuns: 500 },
    );
  });

  const refused: [string, string, RegExp][] = [
    ['a size that is not hex', 'zz\r\n', /invalid chunk size/],
    ['a signed size', '-5\r\nhello\r\n', /invalid chunk size/],
    ['a size of more than twelve hex digits', '1000000000000\r\n', /invalid chunk size/],
    ['data not followed by CRLF', '3\r\nabcX\r\n', /not followed by CRLF/],
    ['a bare LF after the size', '3\nabc\r\n', /bare LF/],
    ['a control character in an extension', '3;a=\u0001\r\nabc\r\n', /control character/],
    ['an endless size line', `${'0'.repeat(5000)}`, /too long/],
  ];
  for (const [name, wire, message] of refused) {
    it(`refuses ${name}`, () => expect(refusal(() => decodeAll([Buffer.from(wire, 'latin1')]))).toMatch(message));
  }

  it('refuses an endless trailer section', () => {
    const trailers = 'X-T: v\r\n'.repeat(3000);
    expect(refusal(() => decodeAll([Buffer.from(`0\r\n${trailers}\r\n`, 'latin1')]))).toMatch(/too long/);
  });

  it('throws nothing but UpstreamFailure on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          decodeAll([Buffer.from(bytes)]);
        } catch (error) {
          expect(error).toBeInstanceOf(UpstreamFailure);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
