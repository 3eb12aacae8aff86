import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCommand } from '../../test/peers.js';
import { dnsConfigSchema, type DnsConfigInput } from '../config/index.js';
import { ManualClock } from '../lib/clock.js';
import { createDnsGateway, type DnsGateway, type DnsLogger, type QueryLogEntry, type Verdict } from './index.js';
import { dig, digAnswers, digStatus } from './test-support/dig.js';
import { startUpstreamFixture, type UpstreamFixture } from './test-support/upstream-fixture.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/dns');
const ok = haveCommand('dig');

describe.runIf(ok)('DNS gateway with dig over UDP and TCP', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  let port: number;
  const clock = new ManualClock();
  const log: QueryLogEntry[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({
      records: {
        'www.example.test': [{ type: 'A', data: '198.51.100.7', ttl: 300 }, { type: 'AAAA', data: '2001:db8::7', ttl: 300 }],
        'short.example.test': [{ type: 'A', data: '198.51.100.8', ttl: 5 }],
        'long.example.test': [{ type: 'A', data: '198.51.100.9', ttl: 1_000_000 }],
        'allowed.example.test': [{ type: 'A', data: '198.51.100.10', ttl: 300 }],
        'big.example.test': [{ type: 'TXT', data: Array.from({ length: 8 }, (_, i) => `${i}`.repeat(200)), ttl: 300 }],
        'tc.example.test': [{ type: 'A', data: '198.51.100.11', ttl: 300 }],
      },
      soa: { ttl: 900, minimum: 120 },
      nxdomainSuffix: 'nx.test',
    });
    const input: DnsConfigInput = {
      enabled: true,
      listen: { address: '127.0.0.1', port: 0, udp: true, tcp: true },
      upstreams: [`127.0.0.1:${upstream.port}`],
      cache: { min_ttl_s: 60, max_ttl_s: 3600, negative_max_ttl_s: 600, max_entries: 1000 },
      blocklists: [
        { name: 'ads', path: join(FIXTURES, 'hosts-ads.txt'), format: 'hosts' },
        { name: 'adblock', path: join(FIXTURES, 'adblock.txt'), format: 'adblock', ede: 'filtered' },
        { name: 'wild', path: join(FIXTURES, 'wildcard.txt') },
      ],
      allowlist: ['allowed.example.test'],
      block_page: { ipv4: '203.0.113.80', ipv6: '2001:db8::80' },
      policies: [{ name: 'kiosk', networks: ['127.0.0.2/32'], block_response: 'block_page', blocklists: ['ads'] }],
      tcp_idle_timeout_ms: 500,
    };
    const classify = (name: string): Verdict =>
      name === 'acme-okta.test' ? { action: 'block', reasons: [{ code: 'lookalike' }], humanReason: 'looks like acme' } : { action: 'allow' };
    gateway = createDnsGateway({ config: dnsConfigSchema.parse(input), clock, onQuery: (entry) => log.push(entry), classify });
    const ports = await gateway.start();
    port = ports.udpPort!;
    expect(ports.tcpPort).toBe(port);
  });

  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close();
  });

  it('forwards over UDP, then answers from the cache with decremented TTLs', async () => {
    const first = await dig(port, ['www.example.test', 'A']);
    expect(digStatus(first)).toBe('NOERROR');
    expect(digAnswers(first)).toEqual([{ name: 'www.example.test.', ttl: 300, type: 'A', data: '198.51.100.7' }]);
    const asked = upstream.queries.filter((q) => q.name === 'www.example.test').length;
    clock.advance(100_000);
    const second = await dig(port, ['WWW.Example.TEST', 'A']);
    expect(digAnswers(second)[0]).toMatchObject({ ttl: 200, data: '198.51.100.7' });
    // The question is echoed with the client's letter case (0x20 randomisation keeps working).
    expect(second).toMatch(/;WWW\.Example\.TEST\.\s+IN\s+A/);
    expect(upstream.queries.filter((q) => q.name === 'www.example.test').length).toBe(asked);
    expect(log.at(-1)).toMatchObject({ name: 'www.example.test', type: 'A', verdict: 'allow', cached: true, protocol: 'udp' });
  });

  it('answers over TCP, several queries on one connection', async () => {
    const out = await dig(port, ['+tcp', '+keepopen', 'www.example.test', 'AAAA', 'allowed.example.test', 'A']);
    expect(out.match(/status: NOERROR/g)).toHaveLength(2);
    expect(out).toContain('2001:db8::7');
    expect(out).toContain('198.51.100.10');
    expect(log.filter((e) => e.protocol === 'tcp').length).toBeGreaterThanOrEqual(2);
  });

  it('prefetches a name asked for in the last tenth of its TTL', async () => {
    const count = () => upstream.queries.filter((q) => q.name === 'prefetch.example.test').length;
    expect(digAnswers(await dig(port, ['prefetch.example.test']))[0]?.ttl).toBe(300);
    expect(count()).toBe(1);
    clock.advance(275_000);
    expect(digAnswers(await dig(port, ['prefetch.example.test']))[0]?.ttl).toBe(25);
    await expect.poll(count).toBe(2);
    clock.advance(10_000);
    expect(digAnswers(await dig(port, ['prefetch.example.test']))[0]?.ttl).toBe(290);
    expect(count()).toBe(2);
  });

  it('answers pipelined TCP queries sent in one segment, then closes the idle connection (RFC 7766)', async () => {
    const { connect } = await import('node:net');
    const dnsPacket = (await import('dns-packet')).default;
    const frame = (id: number, name: string) => {
      const message = dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: 'A' }] });
      const out = Buffer.alloc(2 + message.length);
      out.writeUInt16BE(message.length, 0);
      message.copy(out, 2);
      return out;
    };
    const socket = connect({ host: '127.0.0.1', port });
    const ids: number[] = [];
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        ids.push(buffered.readUInt16BE(2));
        buffered = buffered.subarray(2 + buffered.readUInt16BE(0));
      }
    });
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(Buffer.concat([frame(101, 'www.example.test'), frame(102, 'ads.example.test'), frame(103, 'allowed.example.test')]));
    await closed;
    expect(ids.sort()).toEqual([101, 102, 103]);
  });

  it('clamps TTLs to the configured minimum and maximum', async () => {
    expect(digAnswers(await dig(port, ['short.example.test']))[0]?.ttl).toBe(60);
    expect(digAnswers(await dig(port, ['long.example.test']))[0]?.ttl).toBe(3600);
  });

  it('caches NXDOMAIN for the SOA minimum (RFC 2308) and asks again once it expires', async () => {
    const first = await dig(port, ['gone.nx.test']);
    expect(digStatus(first)).toBe('NXDOMAIN');
    expect(first).toMatch(/nx\.test\.\s+120\s+IN\s+SOA/);
    const count = () => upstream.queries.filter((q) => q.name === 'gone.nx.test').length;
    expect(count()).toBe(1);
    clock.advance(60_000);
    expect(digStatus(await dig(port, ['gone.nx.test']))).toBe('NXDOMAIN');
    expect(count()).toBe(1);
    clock.advance(61_000);
    expect(digStatus(await dig(port, ['gone.nx.test']))).toBe('NXDOMAIN');
    expect(count()).toBe(2);
  });

  it('blocks hosts-file names and their subdomains with NXDOMAIN and EDE 15', async () => {
    for (const name of ['ads.example.test', 'deep.sub.tracker.example.test', 'metrics.example.test']) {
      const out = await dig(port, [name]);
      expect(digStatus(out)).toBe('NXDOMAIN');
      expect(out).toContain('EDE: 15 (Blocked): (on blocklist ads)');
    }
    expect(upstream.queries.some((q) => q.name.endsWith('ads.example.test'))).toBe(false);
    expect(log.at(-1)).toMatchObject({ verdict: 'block', reason: 'blocklist:ads' });
    expect(gateway.listState().metrics.blocked['blocklist:ads']).toBeGreaterThanOrEqual(3);
  });

  it('lets the allowlist win over a blocklist', async () => {
    const out = await dig(port, ['allowed.example.test']);
    expect(digStatus(out)).toBe('NOERROR');
    expect(digAnswers(out)[0]?.data).toBe('198.51.100.10');
    expect(log.at(-1)).toMatchObject({ verdict: 'allow', reason: 'allowlist' });
  });

  it('understands adblock and wildcard formats', async () => {
    expect(await dig(port, ['x.adnet.test'])).toContain('EDE: 17 (Filtered): (on blocklist adblock)');
    expect(digStatus(await dig(port, ['popups.test']))).toBe('NXDOMAIN');
    // A browser-only modifier and an exception rule are ignored, not turned into blocks.
    expect(digStatus(await dig(port, ['cosmetic.test']))).toBe('NOERROR');
    expect(digStatus(await dig(port, ['exception.test']))).toBe('NOERROR');
    expect(digStatus(await dig(port, ['a.wild.test']))).toBe('NXDOMAIN');
    expect(digStatus(await dig(port, ['wild.test']))).toBe('NOERROR');
    expect(digStatus(await dig(port, ['www.plain.test']))).toBe('NXDOMAIN');
    const state = gateway.listState().sources.find((s) => s.name === 'wild')!;
    expect(state.stats).toMatchObject({ entries: 2, invalid: 1 });
  });

  it('answers the block page address for clients of a block_page policy', async () => {
    const a = await dig(port, ['-b', '127.0.0.2', 'ads.example.test', 'A']);
    expect(digStatus(a)).toBe('NOERROR');
    expect(digAnswers(a)[0]).toMatchObject({ type: 'A', data: '203.0.113.80', ttl: 10 });
    expect(a).toContain('EDE: 15 (Blocked)');
    expect(digAnswers(await dig(port, ['-b', '127.0.0.2', 'ads.example.test', 'AAAA']))[0]?.data).toBe('2001:db8::80');
    // The kiosk policy applies only the "ads" list.
    expect(digStatus(await dig(port, ['-b', '127.0.0.2', 'adnet.test']))).toBe('NOERROR');
    expect(log.at(-1)).toMatchObject({ policy: 'kiosk' });
  });

  it('applies dynamic blocks at once, over the allowlist, and lifts them', async () => {
    expect(digStatus(await dig(port, ['www.example.test']))).toBe('NOERROR');
    gateway.blockDomain('Example.TEST.', 'incident 42: credential phishing');
    const blocked = await dig(port, ['www.example.test']);
    expect(digStatus(blocked)).toBe('NXDOMAIN');
    // The stored reason stays with the operator (public-block-text.ts): clients get the generic text.
    expect(blocked).toContain("EDE: 15 (Blocked): (Blocked by your organisation's security policy)");
    expect(blocked).not.toContain('credential phishing');
    expect(digStatus(await dig(port, ['allowed.example.test']))).toBe('NXDOMAIN');
    expect(gateway.listState().dynamic).toEqual([expect.objectContaining({ name: 'example.test' })]);
    expect(gateway.unblockDomain('example.test')).toBe(true);
    expect(digStatus(await dig(port, ['www.example.test']))).toBe('NOERROR');
  });

  it('rejects an invalid dynamic block with a stable error code', () => {
    expect(() => gateway.blockDomain('bad..name', 'x')).toThrow(expect.objectContaining({ code: 'dns_invalid_domain' }));
    expect(() => gateway.blockDomain('ok.test', '')).toThrow(expect.objectContaining({ code: 'dns_invalid_reason' }));
  });

  it('replaces the whole dynamic set from a change feed, and keeps it when an entry is invalid', async () => {
    gateway.replaceDynamicBlocks([{ name: 'short.example.test', reason: 'feed a' }, { name: 'long.example.test', reason: 'feed b' }]);
    expect(digStatus(await dig(port, ['short.example.test']))).toBe('NXDOMAIN');
    expect(() => gateway.replaceDynamicBlocks([{ name: 'ok.test', reason: 'x' }, { name: '-bad-.test', reason: 'y' }]))
      .toThrow(expect.objectContaining({ code: 'dns_invalid_domain' }));
    expect(gateway.listState().dynamic.map((b) => b.name).sort()).toEqual(['long.example.test', 'short.example.test']);
    gateway.replaceDynamicBlocks([]);
    expect(digStatus(await dig(port, ['short.example.test']))).toBe('NOERROR');
  });

  it('blocks what the verdict hook blocks, with its reason', async () => {
    const out = await dig(port, ['acme-okta.test']);
    expect(digStatus(out)).toBe('NXDOMAIN');
    expect(out).toContain('EDE: 15 (Blocked): (looks like acme)');
    expect(log.at(-1)).toMatchObject({ verdict: 'block', reason: 'classify:lookalike' });
  });

  it('truncates a UDP answer larger than the client accepts, and serves it whole over TCP', async () => {
    const udpOnly = await dig(port, ['+noedns', '+ignore', 'big.example.test', 'TXT']);
    expect(udpOnly).toMatch(/flags: qr tc rd ra/);
    expect(digAnswers(udpOnly)).toHaveLength(0);
    const retried = await dig(port, ['+noedns', 'big.example.test', 'TXT']);
    expect(retried).toContain('Truncated, retrying in TCP mode');
    expect(digAnswers(retried)).toHaveLength(1);
    expect(retried).toContain('7'.repeat(200));
  });

  it('retries upstream over TCP when the upstream truncates', async () => {
    upstream.truncateOverUdp.add('tc.example.test');
    expect(digAnswers(await dig(port, ['tc.example.test']))[0]?.data).toBe('198.51.100.11');
    expect(upstream.queries.filter((q) => q.name === 'tc.example.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
  });

  it('answers dig\'s STATUS and NOTIFY with NOTIMP over UDP and TCP, opcode, question and OPT echoed', async () => {
    for (const [opcode, transport] of [['status', '+notcp'], ['notify', '+tcp']] as const) {
      const out = await dig(port, [`+opcode=${opcode}`, transport, 'www.example.test', 'SOA']);
      expect(out).toContain(`opcode: ${opcode.toUpperCase()}, status: NOTIMP`);
      expect(out).toMatch(/QUERY: 1, ANSWER: 0, AUTHORITY: 0, ADDITIONAL: 1/);
      expect(out).toMatch(/;www\.example\.test\.\s+IN\s+SOA/);
      expect(out).toContain('OPT PSEUDOSECTION');
    }
  });

  it('answers garbage with FORMERR or silence and keeps serving', async () => {
    const { createSocket } = await import('node:dgram');
    const socket = createSocket('udp4');
    const replies: Buffer[] = [];
    socket.on('message', (msg) => replies.push(msg));
    const junk = [
      Buffer.alloc(3),
      Buffer.from('000100000001000000000000c00c00010001', 'hex'), // compression pointer in the question
      Buffer.from('00020000000100000000000003777777', 'hex'), // name runs past the end
      Buffer.concat([Buffer.from('0003000000010000000000003f', 'hex'), Buffer.alloc(63, 0x61)]),
    ];
    for (const packet of junk) socket.send(packet, port, '127.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.close();
    expect(replies.map((r) => r.readUInt16BE(0)).sort()).toEqual([1, 2, 3]);
    for (const reply of replies) expect(reply[3]! & 0x0f).toBe(1);
    expect(digStatus(await dig(port, ['www.example.test']))).toBe('NOERROR');
  });
});

describe.runIf(ok)('DNS gateway upstream failover', () => {
  it('fails over to the next upstream, and answers SERVFAIL when every upstream fails', async () => {
    const dead = await startUpstreamFixture();
    dead.mode = 'silent';
    const broken = await startUpstreamFixture();
    broken.mode = 'servfail';
    const good = await startUpstreamFixture({ records: { 'ok.test': [{ type: 'A', data: '198.51.100.1', ttl: 60 }] } });
    const make = (upstreams: UpstreamFixture[]) =>
      createDnsGateway({
        config: dnsConfigSchema.parse({
          enabled: true, listen: { port: 0 }, upstream_timeout_ms: 200, upstream_retries: 2,
          upstreams: upstreams.map((u) => `127.0.0.1:${u.port}`),
        }),
      });
    const healthy = make([dead, broken, good]);
    const failing = make([dead, broken]);
    try {
      const p1 = (await healthy.start()).udpPort!;
      expect(digAnswers(await dig(p1, ['ok.test']))[0]?.data).toBe('198.51.100.1');
      expect(dead.queries).toHaveLength(1);
      expect(broken.queries).toHaveLength(1);
      expect(healthy.listState().metrics.upstreamFailures).toBe(2);
      const p2 = (await failing.start()).udpPort!;
      expect(digStatus(await dig(p2, ['ok.test']))).toBe('SERVFAIL');
    } finally {
      await healthy.stop();
      await failing.stop();
      await Promise.all([dead.close(), broken.close(), good.close()]);
    }
  });
});

describe.runIf(ok)('blocklist refresh', () => {
  it('keeps the last good copy when a source fails, and takes a new good copy', async () => {
    const { createServer } = await import('node:http');
    let body: string | null = '0.0.0.0 first.test\n';
    const server = createServer((_req, res) => {
      if (body === null) res.writeHead(500).end('oops');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listPort = (server.address() as { port: number }).port;
    const upstream = await startUpstreamFixture();
    const dir = mkdtempSync(join(tmpdir(), 'gh-dns-'));
    writeFileSync(join(dir, 'local.txt'), 'local.test\n');
    const gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0 }, upstreams: [`127.0.0.1:${upstream.port}`],
        blocklists: [{ name: 'remote', url: `http://127.0.0.1:${listPort}/list.txt` }, { name: 'local', path: join(dir, 'local.txt') }],
      }),
    });
    try {
      const port = (await gateway.start()).udpPort!;
      expect(digStatus(await dig(port, ['first.test']))).toBe('NXDOMAIN');
      body = null;
      writeFileSync(join(dir, 'local.txt'), '# emptied by a broken export\n');
      const states = await gateway.refreshBlocklists();
      expect(states.map((s) => s.lastError)).toEqual(['HTTP status 500', expect.stringContaining('no auto entries')]);
      expect(digStatus(await dig(port, ['first.test']))).toBe('NXDOMAIN');
      expect(digStatus(await dig(port, ['local.test']))).toBe('NXDOMAIN');
      body = 'second.test\n';
      await gateway.refreshBlocklists();
      expect(digStatus(await dig(port, ['first.test']))).toBe('NOERROR');
      expect(digStatus(await dig(port, ['second.test']))).toBe('NXDOMAIN');
      expect(gateway.listState().sources[0]).toMatchObject({ entries: 1, lastError: null });
    } finally {
      await gateway.stop();
      await upstream.close();
      server.close();
    }
  });
});

describe.runIf(ok)('blocklist files', () => {
  let upstream: UpstreamFixture;
  let dir: string;
  const gatewayFor = (path: string, logger?: DnsLogger) =>
    createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`],
        blocklists: [{ name: 'local', path, refresh_interval_s: 0 }],
      }),
      baseDir: dir,
      ...(logger ? { logger } : {}),
    });

  beforeAll(async () => {
    upstream = await startUpstreamFixture();
    dir = mkdtempSync(join(tmpdir(), 'gh-dns-lists-'));
    mkdirSync(join(dir, 'lists'));
    writeFileSync(join(dir, 'lists', 'local.txt'), 'relative.test\n');
  });

  afterAll(async () => {
    await upstream?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads a relative path from the config file\'s folder, not the working directory', async () => {
    const gateway = gatewayFor('lists/local.txt');
    try {
      const port = (await gateway.start()).udpPort!;
      expect(digStatus(await dig(port, ['relative.test']))).toBe('NXDOMAIN');
      expect(gateway.listState().sources[0]).toMatchObject({ location: join(dir, 'lists', 'local.txt'), entries: 1, lastError: null });
    } finally {
      await gateway.stop();
    }
  });

  it('refuses to start when a list file cannot be read, naming its path and the OS reason', async () => {
    const missing = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0 }, upstreams: [`127.0.0.1:${upstream.port}`],
        blocklists: [{ name: 'local', path: 'lists/missing.txt' }],
      }),
      baseDir: dir,
    });
    await expect(missing.start()).rejects.toThrow(
      `dns_blocklist_unreadable: blocklist "local": cannot read ${join(dir, 'lists', 'missing.txt')}: ENOENT: no such file or directory`,
    );
    await missing.stop();
    // A folder opens but cannot be read: the read's reason, not the open's.
    const folder = gatewayFor('lists');
    await expect(folder.start()).rejects.toMatchObject({
      code: 'dns_blocklist_unreadable',
      message: `dns_blocklist_unreadable: blocklist "local": cannot read ${join(dir, 'lists')}: EISDIR: illegal operation on a directory`,
    });
    await folder.stop();
  });

  it('fails a reload when the file is gone, keeps the last good copy and logs the error', async () => {
    writeFileSync(join(dir, 'lists', 'gone.txt'), 'gone.test\n');
    const errors: { object: object; message?: string }[] = [];
    const gateway = gatewayFor('lists/gone.txt', { info: () => undefined, warn: () => undefined, error: (object, message) => errors.push({ object, message }) });
    try {
      const port = (await gateway.start()).udpPort!;
      expect(digStatus(await dig(port, ['gone.test']))).toBe('NXDOMAIN');
      rmSync(join(dir, 'lists', 'gone.txt'));
      const path = join(dir, 'lists', 'gone.txt');
      await expect(gateway.refreshBlocklists()).rejects.toMatchObject({
        code: 'dns_blocklist_unreadable',
        message: `dns_blocklist_unreadable: blocklist "local": cannot read ${path}: ENOENT: no such file or directory`,
      });
      expect(digStatus(await dig(port, ['gone.test']))).toBe('NXDOMAIN');
      expect(gateway.listState().sources[0]).toMatchObject({
        entries: 1, lastErrorCode: 'dns_blocklist_unreadable', lastError: `cannot read ${path}: ENOENT: no such file or directory`,
      });
      expect(errors).toEqual([{ object: { list: 'local', error: `cannot read ${path}: ENOENT: no such file or directory` }, message: 'dns blocklist cannot be read; the last good copy stays' }]);
    } finally {
      await gateway.stop();
    }
  });
});

describe.runIf(ok)('upstream outage: serve stale (RFC 8767) and hold-down (RFC 8914 EDE 22)', () => {
  it('serves an expired answer with TTL 30 and EDE 3 once the upstream that gave it has stopped', async () => {
    const upstream = await startUpstreamFixture({ records: { 'stale.test': [{ type: 'A', data: '198.51.100.30', ttl: 60 }] } });
    const clock = new ManualClock();
    const gateway = createDnsGateway({
      // An upstream timeout ten times longer than dig waits (3 s): only the refusal can produce the stale answer in time.
      config: dnsConfigSchema.parse({ enabled: true, listen: { port: 0 }, upstreams: [`127.0.0.1:${upstream.port}`], upstream_timeout_ms: 30_000 }),
      clock,
    });
    try {
      const port = (await gateway.start()).udpPort!;
      expect(digAnswers(await dig(port, ['stale.test']))[0]).toMatchObject({ ttl: 60, data: '198.51.100.30' });
      await upstream.close();
      clock.advance(3_600_000);
      // The closed port answers ICMP unreachable, which ends the forward at once; waiting for the
      // timeout instead would leave dig without an answer and fail this test.
      const out = await dig(port, ['stale.test']);
      expect(digStatus(out)).toBe('NOERROR');
      expect(digAnswers(out)).toEqual([{ name: 'stale.test.', ttl: 30, type: 'A', data: '198.51.100.30' }]);
      expect(out).toContain('EDE: 3 (Stale Answer)');
      expect(gateway.listState().metrics.staleAnswers).toBe(1);
      // Past the serve-stale window (one day by default) the entry is gone: SERVFAIL, no reachable authority.
      clock.advance(86_400_000);
      const late = await dig(port, ['stale.test']);
      expect(digStatus(late)).toBe('SERVFAIL');
      expect(late).toContain('EDE: 22 (No Reachable Authority)');
    } finally {
      await gateway.stop();
      await upstream.close().catch(() => undefined);
    }
  });

  it('after a query no upstream replied to, answers SERVFAIL with EDE 22 at once for the hold-down, then asks again', async () => {
    const upstream = await startUpstreamFixture({ records: { 'cached.test': [{ type: 'A', data: '198.51.100.31', ttl: 60 }] } });
    const clock = new ManualClock();
    const gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0 }, upstreams: [`127.0.0.1:${upstream.port}`],
        upstream_timeout_ms: 400, upstream_retries: 0, upstream_hold_down_ms: 5000, serve_stale_s: 0,
      }),
      clock,
    });
    const asked = (name: string) => upstream.queries.filter((q) => q.name === name).length;
    try {
      const port = (await gateway.start()).udpPort!;
      expect(digStatus(await dig(port, ['cached.test']))).toBe('NOERROR');
      clock.advance(61_000);
      upstream.mode = 'silent';
      const first = await dig(port, ['first.test']);
      expect(asked('first.test')).toBe(1);
      expect(digStatus(first)).toBe('SERVFAIL');
      expect(first).toContain('EDE: 22 (No Reachable Authority)');
      // Held down: answered without asking the upstream (the counts prove it, not a stopwatch);
      // serve_stale_s 0 serves nothing stale.
      for (const name of ['second.test', 'cached.test']) {
        const held = await dig(port, [name]);
        expect(digStatus(held)).toBe('SERVFAIL');
        expect(held).toContain('EDE: 22 (No Reachable Authority)');
        expect(asked(name)).toBe(name === 'cached.test' ? 1 : 0);
      }
      upstream.mode = 'answer';
      clock.advance(5001);
      expect(digStatus(await dig(port, ['second.test']))).toBe('NOERROR');
      expect(asked('second.test')).toBe(1);
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });

  it('does not hold down when one name times out while other names are answered', async () => {
    const upstream = await startUpstreamFixture();
    upstream.silentNames.add('dead-authority.test');
    const gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0 }, upstreams: [`127.0.0.1:${upstream.port}`], upstream_timeout_ms: 600, upstream_retries: 0,
      }),
      clock: new ManualClock(),
    });
    try {
      const port = (await gateway.start()).udpPort!;
      const slow = dig(port, ['dead-authority.test']);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(digStatus(await dig(port, ['alive.test']))).toBe('NOERROR');
      expect(digStatus(await slow)).toBe('SERVFAIL');
      expect(digStatus(await dig(port, ['another.test']))).toBe('NOERROR');
    } finally {
      await gateway.stop();
      await upstream.close();
    }
  });
});
