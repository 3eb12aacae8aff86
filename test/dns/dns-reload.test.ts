/**
 * The `dns` section reloaded in a running Gatehouse, observed with the real `dig` and real sockets:
 * enabling the gateway, switching upstreams, adding a blocklist, moving the listener, a reload that
 * cannot be applied (the running gateway keeps answering), disabling it (port closed, DoH 404), and a
 * restart-only key named in the reload log line.
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dig, digAnswers, digStatus } from '../../src/dns/test-support/dig.js';
import { startUpstreamFixture, type UpstreamFixture } from '../../src/dns/test-support/upstream-fixture.js';
import { haveCommand } from '../peers.js';
import { fixtureConfigYaml, freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const haveDig = haveCommand('dig');

/** Whether nothing holds `port` on 127.0.0.1 any more, for UDP and TCP: both can be bound again. */
async function portIsFree(port: number): Promise<boolean> {
  const udp = await new Promise<boolean>((resolve) => {
    const socket = dgram.createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
  const tcp = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  return udp && tcp;
}

/** Waits for a condition a reload brings about, a bounded number of times (no timing asserted). */
async function eventually(check: () => Promise<boolean>, attempts = 50): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.runIf(haveDig)('dns.* reloaded in a running Gatehouse', () => {
  let first: UpstreamFixture;
  let second: UpstreamFixture;
  let fx: GatehouseFixture;
  let dir: string;
  let listPath: string;

  const writeDns = async (dnsYaml: string) => {
    writeFileSync(fx.configPath, fixtureConfigYaml({ port: fx.port, dir: fx.dir, extraYaml: dnsYaml }));
    return fx.gatehouse.config!.reload('test');
  };
  const dnsYaml = (options: { port: number; upstream: UpstreamFixture; blocklist?: string; enabled?: boolean; dohPath?: string }) => `dns:
  enabled: ${options.enabled ?? true}
  listen: { address: 127.0.0.1, port: ${options.port} }
  upstreams: ["127.0.0.1:${options.upstream.port}"]
${options.blocklist ? `  blocklists: [{ name: reloaded, path: ${options.blocklist} }]\n` : ''}${options.dohPath ? `  doh_path: ${options.dohPath}\n` : ''}  query_log: { enabled: false }
`;
  const answerOf = async (port: number, name: string) => digAnswers(await dig(port, [name, 'A'])).map((answer) => answer.data);
  const doh = (name: string) =>
    fx.gatehouse.inject({
      method: 'GET',
      url: `/dns-query?dns=${dnsPacket.encode({ type: 'query', id: 0, questions: [{ type: 'A', name }] }).toString('base64url')}`,
      headers: { host: fx.portalHost, accept: 'application/dns-message' },
    });

  beforeAll(async () => {
    first = await startUpstreamFixture({ records: { 'app.example': [{ type: 'A', data: '198.51.100.1', ttl: 300 }] } });
    second = await startUpstreamFixture({ records: { 'app.example': [{ type: 'A', data: '198.51.100.2', ttl: 300 }] } });
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-reload-'));
    listPath = join(dir, 'reloaded.domains');
    writeFileSync(listPath, 'blocked.example\n');
    fx = await startFixture({ watch: true });
  });
  afterAll(async () => {
    await fx?.close();
    await first?.close();
    await second?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  let port: number;

  it('starts without a gateway: DoH is the router 404', async () => {
    expect(fx.gatehouse.dns.gateway).toBeUndefined();
    expect((await doh('app.example')).statusCode).toBe(404);
  });

  it('a reload that enables the gateway makes it answer over UDP, TCP and DoH', async () => {
    port = await freePort();
    expect(await writeDns(dnsYaml({ port, upstream: first }))).toBe(true);
    expect(fx.gatehouse.dns.ports.udp).toBe(port);
    expect(await answerOf(port, 'app.example')).toEqual(['198.51.100.1']);
    expect(digAnswers(await dig(port, ['+tcp', 'app.example', 'A'])).map((a) => a.data)).toEqual(['198.51.100.1']);
    const answer = await doh('app.example');
    expect(answer.statusCode).toBe(200);
    expect(dnsPacket.decode(answer.rawPayload).answers?.map((a) => ('data' in a ? a.data : undefined))).toEqual(['198.51.100.1']);
  });

  it('a reload that changes the upstreams answers from the new one (the old cache goes with the old gateway)', async () => {
    expect(await writeDns(dnsYaml({ port, upstream: second }))).toBe(true);
    expect(await answerOf(port, 'app.example')).toEqual(['198.51.100.2']);
    expect(second.queries.some((q) => q.name === 'app.example')).toBe(true);
  });

  it('a reload that adds a blocklist blocks its names', async () => {
    expect(digStatus(await dig(port, ['blocked.example', 'A']))).toBe('NOERROR');
    expect(await writeDns(dnsYaml({ port, upstream: second, blocklist: listPath }))).toBe(true);
    expect(digStatus(await dig(port, ['blocked.example', 'A']))).toBe('NXDOMAIN');
  });

  it('a reload that cannot be applied (an unreadable list) is refused: the running gateway keeps answering', async () => {
    const missing = join(dir, 'missing.domains');
    expect(await writeDns(dnsYaml({ port, upstream: first, blocklist: missing }))).toBe(false);
    const refusal = fx.logs.find((line) => line.includes('configuration refused') && line.includes(missing));
    expect(refusal).toContain('config_reload_failed');
    expect(refusal).toContain('dns_blocklist_unreadable');
    expect(fx.gatehouse.dns.config.upstreams).toEqual([`127.0.0.1:${second.port}`]);
    expect(await answerOf(port, 'app.example')).toEqual(['198.51.100.2']);
    expect(digStatus(await dig(port, ['blocked.example', 'A']))).toBe('NXDOMAIN');
  });

  it('a reload to a port another process holds is refused: the running gateway keeps its port', async () => {
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      expect(await writeDns(dnsYaml({ port: taken.address().port, upstream: second, blocklist: listPath }))).toBe(false);
      expect(fx.logs.some((line) => line.includes('configuration refused') && line.includes('config_reload_failed') && line.includes('EADDRINUSE'))).toBe(true);
      expect(fx.gatehouse.dns.ports.udp).toBe(port);
      expect(await answerOf(port, 'app.example')).toEqual(['198.51.100.2']);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('a reload that moves the listener: the old port is closed, the new one answers', async () => {
    const old = port;
    port = await freePort();
    expect(await writeDns(dnsYaml({ port, upstream: second, blocklist: listPath }))).toBe(true);
    expect(await answerOf(port, 'app.example')).toEqual(['198.51.100.2']);
    expect(await eventually(() => portIsFree(old))).toBe(true);
  });

  it('a reload that disables the gateway closes its port and DoH answers 404', async () => {
    expect(await writeDns(dnsYaml({ port, upstream: second, enabled: false }))).toBe(true);
    expect(fx.gatehouse.dns.gateway).toBeUndefined();
    expect(await eventually(() => portIsFree(port))).toBe(true);
    expect((await doh('app.example')).statusCode).toBe(404);
  });

  it('a restart-only key is named in the reload log line', async () => {
    expect(await writeDns(dnsYaml({ port, upstream: second, enabled: false, dohPath: '/resolve' }))).toBe(true);
    expect(fx.logs.some((line) => line.includes('configuration reloaded') && line.includes('dns.doh_path changed: takes effect after a restart'))).toBe(true);
  });
});
