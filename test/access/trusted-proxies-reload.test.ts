/**
 * `access.trusted_proxies` reloaded in a running Gatehouse: one list, replaced for everyone. The policy
 * (client address of an IP rule), the X-Forwarded-For the upstream receives and the portal's client
 * address (`access.clientAddress`, which IP blocks are checked against) must always agree on whether the peer's
 * X-Forwarded-For is believed: a spoofed header from a peer no longer trusted must fool none of them.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureConfigYaml, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const OFFICE_CLIENT = '203.0.113.9';
const BLOCKED_CLIENT = '192.0.2.77';

let upstream: http.Server;
let upstreamPort: number;
const seen: http.IncomingHttpHeaders[] = [];
let fx: GatehouseFixture;

function extraYaml(trusted: readonly string[]): string {
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  return `access:
  trusted_proxies: ${JSON.stringify(trusted)}
apps:
  - name: lab
    host: lab.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - { name: office, action: bypass, include: [{ ip: ["203.0.113.0/24"] }] }
  - name: open
    host: open.acme.localhost
    upstream: ${upstreamUrl}
    policies:
      - { name: everyone, action: bypass, include: [{ everyone: true }] }
`;
}

async function reloadWith(trusted: readonly string[]): Promise<void> {
  writeFileSync(fx.configPath, fixtureConfigYaml({ port: fx.port, dir: fx.dir, extraYaml: extraYaml(trusted) }));
  expect(await fx.gatehouse.config!.reload('test')).toBe(true);
}

/** A GET from 127.0.0.1 (the TCP peer) claiming, in X-Forwarded-For, to come from `claimed`. */
function get(host: string, path: string, claimed: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: fx.port, path, headers: { host, 'x-forwarded-for': claimed } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
  });
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => {
    seen.push(req.headers);
    res.end('upstream');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  fx = await startFixture({ watch: true, extraYaml: extraYaml([]) });
  await fx.gatehouse.access.ipBlocks.block(BLOCKED_CLIENT, { reason: 'test', actor: 'test' });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => upstream.close(r));
});

async function expectPeerNotBelieved(): Promise<void> {
  // The policy judges the peer, not the header: the office rule does not match, and nothing else can.
  const before = seen.length;
  expect((await get(`lab.acme.localhost:${fx.port}`, '/', OFFICE_CLIENT)).status).toBe(403);
  expect(seen.length).toBe(before);
  // The upstream receives the real peer, not the spoofed chain.
  expect((await get(`open.acme.localhost:${fx.port}`, '/', OFFICE_CLIENT)).status).toBe(200);
  expect(seen.length).toBe(before + 1);
  expect(seen.at(-1)!['x-forwarded-for']).toBe('127.0.0.1');
  // The portal's client address is the peer too: a blocked address claimed in the header is not refused.
  expect((await get(fx.portalHost, '/login', BLOCKED_CLIENT)).status).not.toBe(403);
}

async function expectPeerBelieved(): Promise<void> {
  const before = seen.length;
  expect((await get(`lab.acme.localhost:${fx.port}`, '/', OFFICE_CLIENT)).status).toBe(200);
  expect(seen.length).toBe(before + 1);
  expect(seen.at(-1)!['x-forwarded-for']).toBe(`${OFFICE_CLIENT}, 127.0.0.1`);
  expect((await get(`open.acme.localhost:${fx.port}`, '/', OFFICE_CLIENT)).status).toBe(200);
  expect(seen.at(-1)!['x-forwarded-for']).toBe(`${OFFICE_CLIENT}, 127.0.0.1`);
  expect((await get(fx.portalHost, '/login', BLOCKED_CLIENT)).status).toBe(403);
}

describe('access.trusted_proxies on reload', () => {
  it('an untrusted peer: a spoofed X-Forwarded-For is believed by neither the policy, the upstream nor the portal', async () => {
    await expectPeerNotBelieved();
  });

  it('after a reload that adds the peer, the policy, the upstream and the portal all believe its X-Forwarded-For', async () => {
    await reloadWith(['127.0.0.1/32']);
    await expectPeerBelieved();
  });

  it('after a reload that removes it again, none of them believes it', async () => {
    await reloadWith([]);
    await expectPeerNotBelieved();
  });
});
