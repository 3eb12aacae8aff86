import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCommand } from '../../test/peers.js';
import { dnsConfigSchema } from '../config/index.js';
import { createDnsGateway, type DnsGateway, type QueryLogEntry } from './index.js';
import { startUpstreamFixture, type UpstreamFixture } from './test-support/upstream-fixture.js';

const ok = haveCommand('curl') && haveCommand('openssl');
const TOKEN = 'alice-token-0123456789abcdef';

function curl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '10', ...args], (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const query = (name: string, type: 'A' | 'AAAA' = 'A') => dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: 'IN' }] });

describe.runIf(ok)('DNS over HTTPS (RFC 8484)', () => {
  let upstream: UpstreamFixture;
  let gateway: DnsGateway;
  let doh: Server;
  let web: Server;
  let dohPort: number;
  let webPort: number;
  const log: QueryLogEntry[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ records: { 'www.example.test': [{ type: 'A', data: '127.0.0.1', ttl: 120 }] } });
    gateway = createDnsGateway({
      config: dnsConfigSchema.parse({
        enabled: true, listen: { port: 0, udp: false, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`],
        policies: [{ name: 'strict', networks: [] }],
      }),
      onQuery: (entry) => log.push(entry),
      resolveDohToken: (token) => (token === TOKEN ? { user: 'alice', policy: 'strict' } : token === 'ghost-token-0123456789' ? { user: 'bob', policy: 'gone' } : null),
    });
    await gateway.start();
    gateway.blockDomain('phish.test', 'incident 7');
    const dir = mkdtempSync(join(tmpdir(), 'gh-doh-'));
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { timeout: 30_000 });
    doh = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://127.0.0.1');
        void gateway.handleDohRequest({
          method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body: Buffer.concat(chunks),
          headers: req.headers, remoteAddress: req.socket.remoteAddress ?? '',
        }).then((reply) => res.writeHead(reply.status, reply.headers).end(reply.body));
      });
    });
    web = createHttpServer((_req, res) => res.end('hello from the web fixture'));
    await new Promise<void>((resolve) => doh.listen(0, '127.0.0.1', resolve));
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    dohPort = (doh.address() as { port: number }).port;
    webPort = (web.address() as { port: number }).port;
  });

  afterAll(async () => {
    doh?.close();
    web?.close();
    await gateway?.stop();
    await upstream?.close();
  });

  it('resolves for curl --doh-url, and blocks a blocked name', async () => {
    const dohUrl = `https://127.0.0.1:${dohPort}/dns-query`;
    const fetched = await curl(['--doh-url', dohUrl, '--doh-insecure', `http://www.example.test:${webPort}/`]);
    expect(fetched.stdout).toBe('hello from the web fixture');
    expect(log.some((e) => e.protocol === 'doh' && e.name === 'www.example.test' && e.type === 'A')).toBe(true);
    const blocked = await curl(['--doh-url', dohUrl, '--doh-insecure', `http://phish.test:${webPort}/`]);
    expect(blocked.code).toBe(6); // CURLE_COULDNT_RESOLVE_HOST
    expect(log.some((e) => e.protocol === 'doh' && e.name === 'phish.test' && e.verdict === 'block')).toBe(true);
  });

  it('resolves per-user DoH with the token in the path, and refuses an unknown token', async () => {
    const good = await curl(['--doh-url', `https://127.0.0.1:${dohPort}/dns-query/${TOKEN}`, '--doh-insecure', `http://www.example.test:${webPort}/`]);
    expect(good.stdout).toBe('hello from the web fixture');
    expect(log.at(-1)).toMatchObject({ user: 'alice', policy: 'strict', protocol: 'doh' });
    const bad = await curl(['--doh-url', `https://127.0.0.1:${dohPort}/dns-query/not-a-known-token-123`, '--doh-insecure', `http://www.example.test:${webPort}/`]);
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toBe('');
  });

  it('answers GET with an unpadded base64url query and sets Cache-Control from the TTL', async () => {
    const reply = await gateway.handleDohRequest({
      method: 'GET', query: { dns: query('www.example.test').toString('base64url') }, headers: {}, remoteAddress: '127.0.0.1',
    });
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/dns-message');
    expect(reply.headers['cache-control']).toMatch(/^max-age=(1[01]\d|120)$/);
    const decoded = dnsPacket.decode(reply.body);
    expect(decoded.id).toBe(0);
    expect(decoded.answers?.[0]).toMatchObject({ type: 'A', data: '127.0.0.1' });
  });

  it('rejects malformed requests with stable error codes', async () => {
    const call = (request: Partial<Parameters<DnsGateway['handleDohRequest']>[0]>) =>
      gateway.handleDohRequest({ method: 'GET', headers: {}, remoteAddress: '127.0.0.1', ...request });
    const padded = `${query('www.example.test').toString('base64')}==`;
    const cases = [
      [await call({ query: { dns: padded } }), 400, 'dns_doh_bad_query'],
      [await call({ query: {} }), 400, 'dns_doh_bad_query'],
      [await call({ query: { dns: ['AAAA', 'BBBB'] } }), 400, 'dns_doh_bad_query'],
      [await call({ query: { dns: 'AAAA' } }), 400, 'dns_doh_bad_query'],
      [await call({ method: 'POST', headers: { 'content-type': 'text/plain' }, body: query('x.test') }), 415, 'dns_doh_bad_content_type'],
      [await call({ method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: Buffer.alloc(70_000) }), 413, 'dns_doh_too_large'],
      [await call({ method: 'PUT' }), 405, 'dns_doh_method'],
      [await call({ path: '/dns-query/short' }), 401, 'dns_doh_token_invalid'],
      [await call({ path: '/dns-query/unknown-token-0123456789' }), 401, 'dns_doh_token_invalid'],
      [await call({ path: '/dns-query/ghost-token-0123456789' }), 403, 'dns_doh_policy_unknown'],
    ] as const;
    for (const [reply, status, code] of cases) {
      expect(reply.status).toBe(status);
      expect(reply.headers['x-gatehouse-error']).toBe(code);
    }
  });

  it('answers other HTTP methods 405 with Allow: GET, POST (RFC 8484 §4.1)', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const reply = await gateway.handleDohRequest({ method, headers: {}, remoteAddress: '127.0.0.1', body: query('www.example.test') });
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, POST');
      expect(reply.headers['x-gatehouse-error']).toBe('dns_doh_method');
    }
  });

  it('answers POST application/dns-message', async () => {
    const reply = await gateway.handleDohRequest({
      method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: query('phish.test'), remoteAddress: '127.0.0.1',
    });
    expect(reply.status).toBe(200);
    expect(reply.body[3]! & 0x0f).toBe(3); // NXDOMAIN
  });
});

describe('anonymous DoH (no personal token in the path)', () => {
  let upstream: UpstreamFixture;
  const gateways: DnsGateway[] = [];
  const warnings: { object: object; message?: string }[] = [];

  beforeAll(async () => {
    upstream = await startUpstreamFixture({ records: { 'www.example.test': [{ type: 'A', data: '192.0.2.80', ttl: 60 }] } });
  });
  afterAll(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await upstream.close();
  });

  async function gatewayWith(extra: Record<string, unknown> = {}): Promise<DnsGateway> {
    const gateway = createDnsGateway({
      config: dnsConfigSchema.parse({ enabled: true, listen: { port: 0, udp: false, tcp: false }, upstreams: [`127.0.0.1:${upstream.port}`], ...extra }),
      logger: { info: () => undefined, warn: (object, message) => void warnings.push({ object, ...(message ? { message } : {}) }), error: () => undefined },
      resolveDohToken: (token) => (token === TOKEN ? { user: 'alice' } : null),
    });
    gateways.push(gateway);
    await gateway.start();
    return gateway;
  }

  const get = (gateway: DnsGateway, remoteAddress: string, path = '/dns-query') =>
    gateway.handleDohRequest({ method: 'GET', path, query: { dns: query('www.example.test').toString('base64url') }, headers: {}, remoteAddress });

  it('is refused from a non-loopback address by default: 403 dns_doh_anonymous_refused, in the header, the body and the log', async () => {
    const gateway = await gatewayWith();
    for (const address of ['203.0.113.7', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1']) {
      const reply = await get(gateway, address);
      expect([address, reply.status, reply.headers['x-gatehouse-error']]).toEqual([address, 403, 'dns_doh_anonymous_refused']);
      expect(reply.body.toString()).toMatch(/^dns_doh_anonymous_refused: /);
    }
    expect(warnings).toContainEqual({ object: { code: 'dns_doh_anonymous_refused', client: '203.0.113.7' }, message: 'dns doh request refused' });
    // POST is refused the same way, before the body is parsed.
    const post = await gateway.handleDohRequest({ method: 'POST', headers: { 'content-type': 'application/dns-message' }, body: query('www.example.test'), remoteAddress: '203.0.113.7' });
    expect(post.headers['x-gatehouse-error']).toBe('dns_doh_anonymous_refused');
  });

  it('is answered from loopback, in every spelling', async () => {
    const gateway = await gatewayWith();
    for (const address of ['127.0.0.1', '127.8.9.10', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
      expect([address, (await get(gateway, address)).status]).toEqual([address, 200]);
    }
  });

  it('a personal URL keeps working from any address; a bad token is still 401', async () => {
    const gateway = await gatewayWith();
    expect((await get(gateway, '203.0.113.7', `/dns-query/${TOKEN}`)).status).toBe(200);
    const bad = await get(gateway, '203.0.113.7', '/dns-query/unknown-token-0123456789');
    expect([bad.status, bad.headers['x-gatehouse-error']]).toEqual([401, 'dns_doh_token_invalid']);
  });

  it('dns.doh_allow_anonymous opens it to everyone (default off)', async () => {
    expect(dnsConfigSchema.parse({}).doh_allow_anonymous).toBe(false);
    expect(dnsConfigSchema.safeParse({ doh_allow_anonymous: 'yes' }).success).toBe(false);
    const open = await gatewayWith({ doh_allow_anonymous: true });
    expect((await get(open, '203.0.113.7')).status).toBe(200);
  });
});
