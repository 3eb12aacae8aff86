/**
 * One client address for every surface of a running Gatehouse: the portal's sign-in refusal audit (and
 * its throttle, keyed by the same address), the admin API's refusal audit, an app's IP policy and its
 * denial audit, and DoH's refusal log all take it from the one forwarded-headers parser, against the
 * one `access.trusted_proxies` list.
 *
 * Attack (written before the test): a client that is not a trusted proxy sends `X-Forwarded-For:
 * 203.0.113.9` and `Forwarded: for=203.0.113.9` to put someone else's address in the audit log, to
 * spend another address's rate-limit budget, or to pass an IP rule; each surface must record and judge
 * its socket address instead. A trusted proxy's header is believed, and believed the same way
 * everywhere: a surface reading it with a parser of its own (fastify's proxy-addr) would disagree on
 * a chain the gateway stops at. 127.0.0.2 is the proxy (connections bound to that source address).
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureConfigYaml, freePort, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const SPOOFED = '203.0.113.9';
const PROXY = '127.0.0.2';

let upstream: http.Server;
let upstreamPort: number;
let dnsPort: number;
let fx: GatehouseFixture;

function extraYaml(trusted: readonly string[]): string {
  return `access:
  trusted_proxies: ${JSON.stringify(trusted)}
apps:
  - name: lab
    host: lab.acme.localhost
    upstream: http://127.0.0.1:${upstreamPort}
    policies:
      - { name: office, action: bypass, include: [{ ip: ["203.0.113.0/24"] }] }
dns:
  enabled: true
  listen: { address: 127.0.0.1, port: ${dnsPort}, udp: false, tcp: false }
  upstreams: ["127.0.0.1:9"]
`;
}

async function trust(trusted: readonly string[]): Promise<void> {
  writeFileSync(fx.configPath, fixtureConfigYaml({ port: fx.port, dir: fx.dir, extraYaml: extraYaml(trusted) }));
  expect(await fx.gatehouse.config!.reload('test')).toBe(true);
}

interface Answer {
  status: number;
  cookies: string[];
}

/** One request over its own connection from `from` (the TCP peer Gatehouse sees). */
function send(from: string, host: string, path: string, headers: Record<string, string>, body?: { method: string; text: string }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: fx.port, localAddress: from, agent: false, method: body?.method ?? 'GET', path, headers: { host, ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!) }));
    });
    req.on('error', reject);
    req.end(body?.text);
  });
}

async function lastSeq(): Promise<number> {
  const row = await fx.gatehouse.core.store.db.selectFrom('audit_events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

/** Hits every surface from `from` with `headers`, and returns the address each one recorded or judged by. */
async function addressesSeen(from: string, headers: Record<string, string>) {
  const mark = await lastSeq();
  const logsBefore = fx.logs.length;
  const portal = `${fx.portalHost}:${fx.port}`;

  // Portal: a password sign-in (off in this config) is refused and audited with the client's address.
  const page = await send(from, portal, '/sign-in', headers);
  const csrf = page.cookies.find((c) => c.includes('csrf'))!;
  const signIn = await send(
    from,
    portal,
    '/sign-in/password',
    { ...headers, cookie: csrf, 'x-csrf-token': csrf.split('=')[1]!, origin: fx.portalOrigin, 'content-type': 'application/x-www-form-urlencoded' },
    { method: 'POST', text: 'email=pw%40acme.test&password=guess' },
  );
  expect(signIn.status).toBe(401);
  // Admin API: no session, refused and audited.
  expect((await send(from, portal, '/admin/api/session', headers)).status).toBe(401);
  // An app whose only rule admits 203.0.113.0/24.
  const lab = await send(from, `lab.acme.localhost:${fx.port}`, '/', headers);
  // DoH: an address of the wrong shape, refused and logged with the client.
  expect((await send(from, portal, '/dns-query/not-a-token?dns=AAABAAABAAAAAAAAB2V4YW1wbGUDY29tAAABAAE', headers)).status).toBe(401);

  const rows = await fx.gatehouse.core.store.db.selectFrom('audit_events').select(['type', 'code', 'ip']).where('seq', '>', mark).orderBy('seq').execute();
  const ipOf = (type: string, code?: string) => rows.filter((r) => r.type === type && (code === undefined || r.code === code)).map((r) => r.ip);
  const dohLog = fx.logs.slice(logsBefore).map((line) => JSON.parse(line) as { msg?: string; client?: string }).find((line) => line.msg === 'dns doh request refused');
  return {
    signIn: ipOf('sign_in', 'legacy_disabled'),
    admin: ipOf('admin.denied', 'admin_session_required'),
    labAdmitted: lab.status === 200,
    labDenied: ipOf('access.denied'),
    doh: dohLog?.client,
  };
}

/** What every surface must say when the client's address is `address`. */
function everywhere(address: string) {
  return { signIn: [address], admin: [address], labAdmitted: address === SPOOFED, labDenied: address === SPOOFED ? [] : [address], doh: address };
}

const spoofing = { 'x-forwarded-for': SPOOFED, forwarded: `for=${SPOOFED}` };

beforeAll(async () => {
  upstream = http.createServer((_req, res) => res.end('upstream'));
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
  dnsPort = await freePort();
  fx = await startFixture({ watch: true, extraYaml: extraYaml([]) });
});
afterAll(async () => {
  await fx?.close();
  await new Promise((r) => upstream.close(r));
});

describe('the client address every surface records and judges by', () => {
  it('with no trusted proxy, a spoofed X-Forwarded-For or Forwarded is believed by no surface', async () => {
    expect(await addressesSeen('127.0.0.1', spoofing)).toEqual(everywhere('127.0.0.1'));
    expect(await addressesSeen(PROXY, spoofing)).toEqual(everywhere(PROXY));
  });

  it('with 127.0.0.2 trusted, every surface believes its X-Forwarded-For, and no other peer’s', async () => {
    await trust([`${PROXY}/32`]);
    expect(await addressesSeen(PROXY, { 'x-forwarded-for': SPOOFED })).toEqual(everywhere(SPOOFED));
    expect(await addressesSeen('127.0.0.1', spoofing)).toEqual(everywhere('127.0.0.1'));
  });

  it('a trusted proxy’s chain is read the same way everywhere: a non-address entry stops at the proxy', async () => {
    // The proxy appended the client's junk entry as is; the gateway's rule keeps the last address
    // vouched for (the proxy's own), and every surface must agree rather than record "junk".
    expect(await addressesSeen(PROXY, { 'x-forwarded-for': `${SPOOFED}, junk` })).toEqual(everywhere(PROXY));
    // `Forwarded: for=` is not read for the client address: the proxy's own address stands.
    expect(await addressesSeen(PROXY, { forwarded: `for=${SPOOFED}` })).toEqual(everywhere(PROXY));
  });
});
