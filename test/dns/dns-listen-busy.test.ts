/**
 * A DNS port already in use stops `gatehouse serve` with one line that names `dns.listen`, the address
 * and what to do, exit code 1 and no stack trace (a real process, a real socket holding the port).
 */
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runGatehouseProcess } from '../support/cli.js';
import { fixtureConfigYaml, freePort } from '../support/gatehouse-fixture.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-dns-busy-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function serveWithDnsOn(port: number) {
  const configPath = join(dir, `gatehouse-${port}.yaml`);
  const extraYaml = `dns:\n  enabled: true\n  listen: { address: 127.0.0.1, port: ${port} }\n  upstreams: ["127.0.0.1:9"]\n`;
  writeFileSync(configPath, fixtureConfigYaml({ dir, port: await freePort(), extraYaml }));
  return runGatehouseProcess(['serve'], { config: configPath });
}

it('a UDP port in use: exit 1, dns.listen and the address named, no stack trace', async () => {
  const holder = dgram.createSocket('udp4');
  const port = await new Promise<number>((resolve) => holder.bind(0, '127.0.0.1', () => resolve(holder.address().port)));
  try {
    const result = await serveWithDnsOn(port);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`dns.listen: cannot listen on 127.0.0.1:${port} (UDP): another process already uses it`);
    expect(result.stderr).toContain('[dns_listen_failed]');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  } finally {
    holder.close();
  }
});

it('a TCP port in use (UDP free): the same failure, not a silent move to another port', async () => {
  const holder = net.createServer();
  const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as net.AddressInfo).port)));
  try {
    const result = await serveWithDnsOn(port);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`dns.listen: cannot listen on 127.0.0.1:${port} (TCP)`);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  } finally {
    holder.close();
  }
});
