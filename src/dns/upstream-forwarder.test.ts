import dgram from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { cryptoRandom } from '../lib/random.js';
import { startUpstreamFixture } from './test-support/upstream-fixture.js';
import { UpstreamForwarder, UpstreamsFailedError } from './upstream-forwarder.js';

const TYPE_A = 1;
const CLASS_IN = 1;

/** A UDP port nothing listens on: bound once for a free number, then closed. */
async function closedPort(): Promise<number> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

describe('UpstreamForwarder failures', () => {
  const NEVER = 3_600_000;
  const started: UpstreamForwarder[] = [];
  const forwarder = async (ports: number[], timeoutMs = 5000, retries = 0) => {
    const f = new UpstreamForwarder({
      upstreams: ports.map((port) => ({ host: '127.0.0.1', port })), timeoutMs, retries, sockets: 2, random: cryptoRandom, now: () => performance.now(),
    });
    await f.start();
    started.push(f);
    return f;
  };
  afterEach(() => {
    for (const f of started.splice(0)) f.stop();
  });

  // The upstream timeout is far beyond the test's own: only the refusal (ICMP port unreachable on a
  // connected socket) can end these forwards, and its error says so. No wall-clock assertion.
  it('fails a refused UDP port (ICMP port unreachable) on the refusal, not on the timeout', async () => {
    const f = await forwarder([await closedPort()], NEVER);
    const error = await f.forward('example.test', TYPE_A, CLASS_IN, false).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UpstreamsFailedError);
    expect(error).toMatchObject({ code: 'dns_upstream_unreachable', unreachable: true });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });

  it('fails fast once an upstream that answered has stopped, and fails over to the next', async () => {
    const first = await startUpstreamFixture();
    const second = await startUpstreamFixture();
    try {
      const f = await forwarder([first.port, second.port], NEVER, 1);
      expect((await f.forward('a.test', TYPE_A, CLASS_IN, false)).upstream).toBe(`127.0.0.1:${first.port}`);
      await first.close();
      const result = await f.forward('b.test', TYPE_A, CLASS_IN, false);
      expect(result.upstream).toBe(`127.0.0.1:${second.port}`);
      await second.close();
      await expect(f.forward('c.test', TYPE_A, CLASS_IN, false)).rejects.toMatchObject({ code: 'dns_upstream_unreachable', unreachable: true });
    } finally {
      await Promise.allSettled([first.close(), second.close()]);
    }
  });

  it('reports SERVFAIL from every upstream as a failure about the name, not an unreachable upstream', async () => {
    const broken = await startUpstreamFixture();
    broken.mode = 'servfail';
    try {
      const f = await forwarder([broken.port]);
      await expect(f.forward('a.test', TYPE_A, CLASS_IN, false)).rejects.toMatchObject({ code: 'dns_upstream_failed', unreachable: false });
    } finally {
      await broken.close();
    }
  });
});
