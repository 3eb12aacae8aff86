import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, rawRequest, startFront, startRecordingUpstream } from './test-support/proxy-test-harness.js';
import { originFormOf, rejectSmuggling } from './reject-smuggling.js';

/**
 * End to end over raw sockets: whatever layer refuses a shape (Node's parser or rejectSmuggling), the
 * client gets a 400 and the upstream never receives a complete request.
 */
describe('smuggling shapes through the proxy (raw sockets)', () => {
  let upstream: Awaited<ReturnType<typeof startRecordingUpstream>>;
  let front: Awaited<ReturnType<typeof startFront>>;
  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    front = await startFront({ apps: [{ name: 'wiki', upstream: upstream.url }] }, 'wiki');
  });
  afterAll(async () => {
    await front.close();
    await closeServer(upstream.server);
  });

  const shapes: Record<string, string> = {
    'CL and TE': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'TE and CL': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n',
    'two differing CL': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde',
    'two equal CL': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd',
    'CL list': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4, 5\r\n\r\nabcd',
    'signed CL': 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +4\r\n\r\nabcd',
    'TE not chunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabcd',
    'TE chunked not last': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabcd',
    'TE gzip, chunked': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
    'TE unknown token': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n',
    'TE twice': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'TE with space before colon': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    'TE in HTTP/1.0': 'POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n',
    'obs-fold in TE': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n0\r\n\r\n',
    'bad header name char': 'GET / HTTP/1.1\r\nHost: a\r\nX(A: b\r\n\r\n',
    'control char in value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x01c\r\n\r\n',
    'NUL in value': 'GET / HTTP/1.1\r\nHost: a\r\nX-A: b\x00c\r\n\r\n',
    'bare LF line ends': 'GET / HTTP/1.1\nHost: a\nX-A: b\n\n',
    'bare CR': 'GET / HTTP/1.1\r\nHost: a\rX-A: b\r\n\r\n',
    'two Host fields': 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
    'no Host in HTTP/1.1': 'GET / HTTP/1.1\r\n\r\n',
    'absolute-form for another host': 'GET http://internal-admin/ HTTP/1.1\r\nHost: a\r\n\r\n',
    'asterisk-form': 'OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n',
    'bad chunk size': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4x\r\nabcd\r\n0\r\n\r\n',
    'chunk extension with bare LF': 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4;a\nb\r\nabcd\r\n0\r\n\r\n',
  };

  for (const [name, bytes] of Object.entries(shapes)) {
    it(`${name}: 400, and no complete request reaches the upstream`, async () => {
      const before = upstream.seen.length;
      const response = await rawRequest(front.port, bytes, 300);
      expect(response.status).toBe(400);
      const reached = upstream.seen.slice(before);
      expect(reached.filter((request) => request.completed)).toEqual([]);
      // Framing refusals happen before dispatch: the upstream sees nothing at all. Bad chunk bytes are
      // only discovered mid-body by Node's parser; the upstream then sees a request cut short, never a complete one.
      if (!name.includes('chunk')) expect(reached).toEqual([]);
    });
  }

  it('a well-formed request still passes (the shapes above are refused for their framing, not the method)', async () => {
    const response = await rawRequest(front.port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n4\r\nabcd\r\n0\r\n\r\n');
    expect(response.status).toBe(200);
    expect(upstream.seen.at(-1)!.body.toString()).toBe('abcd');
  });

  it('absolute-form naming the routed host is accepted and forwarded in origin-form', async () => {
    const response = await rawRequest(front.port, 'GET http://A/x?y=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(response.status).toBe(200);
    expect(upstream.seen.at(-1)!.url).toBe('/x?y=1');
  });
});

/** Shapes Node's parser already refuses never reach a handler; the check still stands on its own. */
describe('rejectSmuggling on requests as a handler sees them', () => {
  function request(rawHeaders: string[], options: { url?: string; version?: [number, number] } = {}): IncomingMessage {
    const [major, minor] = options.version ?? [1, 1];
    return { rawHeaders, url: options.url ?? '/', httpVersionMajor: major, httpVersionMinor: minor } as unknown as IncomingMessage;
  }
  const cases: [string, IncomingMessage, string | null][] = [
    ['clean', request(['Host', 'a', 'Content-Length', '3']), null],
    ['chunked alone', request(['Host', 'a', 'Transfer-Encoding', ' Chunked ']), null],
    ['CL and TE', request(['Host', 'a', 'Content-Length', '3', 'Transfer-Encoding', 'chunked']), 'content_length_with_transfer_encoding'],
    ['duplicate CL', request(['Host', 'a', 'Content-Length', '3', 'content-length', '3']), 'duplicate_content_length'],
    ['CL list', request(['Host', 'a', 'Content-Length', '3, 3']), 'invalid_content_length'],
    ['negative CL', request(['Host', 'a', 'Content-Length', '-1']), 'invalid_content_length'],
    ['TE split over two fields', request(['Host', 'a', 'Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'gzip']), 'transfer_encoding_not_chunked'],
    ['gzip, chunked', request(['Host', 'a', 'Transfer-Encoding', 'gzip, chunked']), 'transfer_encoding_not_chunked'],
    ['TE in HTTP/1.0', request(['Host', 'a', 'Transfer-Encoding', 'chunked'], { version: [1, 0] }), 'transfer_encoding_in_http10'],
    ['two hosts', request(['Host', 'a', 'host', 'b']), 'duplicate_host'],
    ['bad name', request(['Host', 'a', 'X A', 'b']), 'invalid_header_name'],
    ['folded value', request(['Host', 'a', 'X-A', 'b\r\n c']), 'invalid_header_value'],
    ['NUL in value', request(['Host', 'a', 'X-A', 'b\u0000']), 'invalid_header_value'],
    ['tab in value is fine', request(['Host', 'a', 'X-A', 'b\tc']), null],
    ['asterisk', request(['Host', 'a'], { url: '*' }), 'invalid_request_target'],
    ['absolute-form other host', request(['Host', 'a'], { url: 'http://b/' }), 'request_target_host_mismatch'],
    ['absolute-form same host', request(['Host', 'a:8080'], { url: 'https://A:8080?x' }), null],
  ];
  for (const [name, req, expected] of cases) {
    it(name, () => expect(rejectSmuggling(req)).toBe(expected));
  }

  it('originFormOf turns absolute-form into origin-form', () => {
    expect(originFormOf('/a?b')).toBe('/a?b');
    expect(originFormOf('http://a:1/x/y?z')).toBe('/x/y?z');
    expect(originFormOf('http://a?z')).toBe('/?z');
    expect(originFormOf('http://a')).toBe('/');
  });
});
