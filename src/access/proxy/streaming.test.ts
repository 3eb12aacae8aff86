import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listen, startFront } from './test-support/proxy-test-harness.js';

/**
 * 1 GiB each way, generated on the fly, through the proxy on real sockets. The receiving side pauses
 * now and then, so a proxy that buffered instead of applying backpressure would accumulate hundreds
 * of MB; RSS growth is the measure (no timing assertion).
 */
const TOTAL = 1024 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const PAUSE_EVERY = 32 * 1024 * 1024;
const RSS_BUDGET = 100 * 1024 * 1024;

function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage.rss());
    },
  };
}

/** Writes `total` bytes, waiting for `drain` whenever the socket buffer is full. */
async function writeGenerated(stream: NodeJS.WritableStream, total: number): Promise<void> {
  let sent = 0;
  while (sent < total) {
    const chunk = total - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, total - sent);
    sent += chunk.length;
    if (!stream.write(chunk)) await new Promise((resolve) => stream.once('drain', resolve));
  }
}

/** Counts bytes, pausing 30 ms every 32 MiB to make the sender outrun the receiver. */
function countSlowly(stream: NodeJS.ReadableStream & { pause(): unknown; resume(): unknown }): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let nextPause = PAUSE_EVERY;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= nextPause) {
        nextPause += PAUSE_EVERY;
        stream.pause();
        setTimeout(() => stream.resume(), 30);
      }
    });
    stream.on('end', () => resolve(received));
    stream.on('error', reject);
  });
}

describe('streaming through the proxy', () => {
  let upstream: http.Server;
  let front: Awaited<ReturnType<typeof startFront>>;
  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      if (req.url!.startsWith('/download')) {
        const size = Number(new URL(req.url!, 'http://x').searchParams.get('size') ?? TOTAL);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
        void writeGenerated(res, size).then(() => res.end());
      } else {
        void countSlowly(req).then((count) => res.end(String(count)));
      }
    });
    const port = await listen(upstream);
    front = await startFront({ apps: [{ name: 'files', upstream: `http://127.0.0.1:${port}` }] }, 'files');
  });
  afterAll(async () => {
    await front.close();
    await closeServer(upstream);
  });

  function download(path: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: front.port, path, agent: false }, (res) => {
          expect(res.statusCode).toBe(200);
          countSlowly(res).then(resolve, reject);
        })
        .on('error', reject);
    });
  }

  it('downloads 1 GiB with bounded memory', async () => {
    // Warm-up: the first transfer grows the heap and socket buffer pools once; that is not per-byte growth.
    expect(await download(`/download?size=${64 * 1024 * 1024}`)).toBe(64 * 1024 * 1024);
    const baseline = process.memoryUsage.rss();
    const sampler = sampleRss();
    const received = await download('/download');
    const growth = sampler.stop() - baseline;
    if (process.env.GATEHOUSE_TEST_VERBOSE) process.stderr.write(`rss growth ${(growth / 1048576).toFixed(1)} MiB\n`);
    expect(received).toBe(TOTAL);
    expect(growth).toBeLessThan(RSS_BUDGET);
  });

  it('uploads 1 GiB with bounded memory', async () => {
    const baseline = process.memoryUsage.rss();
    const sampler = sampleRss();
    const answer = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: front.port, method: 'PUT', path: '/upload', agent: false, headers: { 'content-length': String(TOTAL) } },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve(text));
        },
      );
      req.on('error', reject);
      void writeGenerated(req, TOTAL).then(() => req.end());
    });
    const growth = sampler.stop() - baseline;
    if (process.env.GATEHOUSE_TEST_VERBOSE) process.stderr.write(`rss growth ${(growth / 1048576).toFixed(1)} MiB\n`);
    expect(answer).toBe(String(TOTAL));
    expect(growth).toBeLessThan(RSS_BUDGET);
  });
});
