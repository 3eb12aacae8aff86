import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCommand } from '../../../test/peers.js';
import { ManualClock } from '../../lib/clock.js';
import type { ResolveHost } from './public-only-agent.js';
import { createRdapClient, type RdapClientOptions } from './rdap-client.js';
import { startRdapFixture, type RdapFixture } from './test-support/rdap-fixture-server.js';

const MINUTE = 60_000;
let fixture: RdapFixture;
const clock = new ManualClock();

function client(overrides: Partial<RdapClientOptions> = {}) {
  return createRdapClient({
    baseUrlFor: (domain) => (domain.endsWith('.test') ? fixture.baseUrl : undefined),
    clock,
    timeoutMs: 5000,
    maxResponseBytes: 64 * 1024,
    maxRedirects: 3,
    connection: fixture.connection,
    ...overrides,
  });
}

beforeAll(async () => {
  fixture = await startRdapFixture();
});
afterAll(async () => {
  await fixture.close();
});

describe('RDAP client against a local RDAP server', () => {
  it('reads the registration event of a domain registered minutes ago', async () => {
    const registeredAt = clock.now() - 37 * MINUTE;
    fixture.set('young.test', { kind: 'registered', registeredAt });
    const outcome = await client().lookupDomain('young.test');
    expect(outcome).toEqual({ status: 'registered', domain: 'young.test', registeredAt, serverUrl: `${fixture.baseUrl}domain/young.test` });
  });

  it('takes the latest of registration and reregistration events and skips malformed ones', async () => {
    const first = Date.UTC(2001, 0, 1);
    const again = Date.UTC(2026, 0, 1);
    fixture.set('dropped.test', {
      kind: 'registered',
      registeredAt: first,
      events: [
        { eventAction: 'registration', eventDate: new Date(first).toISOString() },
        { eventAction: 'reregistration', eventDate: new Date(again).toISOString() },
        { eventAction: 'registration', eventDate: 'yesterday' },
        'not an event',
      ],
    });
    const outcome = await client().lookupDomain('dropped.test');
    expect(outcome).toMatchObject({ status: 'registered', registeredAt: again });
  });

  it('maps 404 to not_found', async () => {
    expect(await client().lookupDomain('nobody-registered-this.test')).toMatchObject({ status: 'not_found' });
  });

  it('maps 500 to rdap_server_error and other statuses to rdap_http_status', async () => {
    fixture.set('broken.test', { kind: 'status', status: 500 });
    fixture.set('forbidden.test', { kind: 'status', status: 403 });
    expect(await client().lookupDomain('broken.test')).toMatchObject({ status: 'error', code: 'rdap_server_error' });
    expect(await client().lookupDomain('forbidden.test')).toMatchObject({ status: 'error', code: 'rdap_http_status' });
  });

  it('on 429 pauses that server until Retry-After has passed, capped at backoff.maxMs', async () => {
    const local = await startRdapFixture();
    try {
      const limited = createRdapClient({ baseUrlFor: () => local.baseUrl, clock, timeoutMs: 5000, maxResponseBytes: 65536, maxRedirects: 3, connection: local.connection });
      local.set('busy.test', { kind: 'status', status: 429, headers: { 'retry-after': '45' } });
      local.set('other.test', { kind: 'registered', registeredAt: Date.UTC(2010, 0, 1) });
      expect(await limited.lookupDomain('busy.test')).toMatchObject({ status: 'error', code: 'rdap_rate_limited', retryAfterMs: 45_000 });
      // Another domain on the same server is not even requested while paused.
      expect(await limited.lookupDomain('other.test')).toMatchObject({ status: 'error', code: 'rdap_rate_limited' });
      expect(local.hits('other.test')).toBe(0);
      clock.advance(46_000);
      expect(await limited.lookupDomain('other.test')).toMatchObject({ status: 'registered' });
      expect(local.hits('other.test')).toBe(1);
    } finally {
      await local.close();
    }
  });

  it('a Retry-After of an hour (or a far HTTP-date) pauses the server for the cap only, 60 s by default', async () => {
    const local = await startRdapFixture();
    try {
      const limited = createRdapClient({ baseUrlFor: () => local.baseUrl, clock, timeoutMs: 5000, maxResponseBytes: 65536, maxRedirects: 3, connection: local.connection });
      local.set('hour.test', { kind: 'status', status: 429, headers: { 'retry-after': '3600' } });
      local.set('after-hour.test', { kind: 'registered', registeredAt: Date.UTC(2010, 0, 1) });
      expect(await limited.lookupDomain('hour.test')).toMatchObject({ code: 'rdap_rate_limited', retryAfterMs: 60_000 });
      clock.advance(59_000);
      expect(await limited.lookupDomain('after-hour.test')).toMatchObject({ code: 'rdap_rate_limited' });
      expect(local.hits('after-hour.test')).toBe(0);
      clock.advance(1_000);
      expect(await limited.lookupDomain('after-hour.test')).toMatchObject({ status: 'registered' });

      local.set('dated.test', { kind: 'status', status: 429, headers: { 'retry-after': new Date(clock.now() + 86_400_000).toUTCString() } });
      expect(await limited.lookupDomain('dated.test')).toMatchObject({ code: 'rdap_rate_limited', retryAfterMs: 60_000 });
    } finally {
      await local.close();
    }
  });

  it('without Retry-After backs off briefly (backoff.defaultMs), and honours a configured cap', async () => {
    const local = await startRdapFixture();
    try {
      const limited = createRdapClient({
        baseUrlFor: () => local.baseUrl, clock, timeoutMs: 5000, maxResponseBytes: 65536, maxRedirects: 3, connection: local.connection,
        backoff: { defaultMs: 5_000, maxMs: 20_000 },
      });
      local.set('bare.test', { kind: 'status', status: 429 });
      local.set('capped.test', { kind: 'status', status: 429, headers: { 'retry-after': '600' } });
      local.set('garbled.test', { kind: 'status', status: 429, headers: { 'retry-after': 'soon-ish' } });
      expect(await limited.lookupDomain('bare.test')).toMatchObject({ code: 'rdap_rate_limited', retryAfterMs: 5_000 });
      clock.advance(5_000);
      expect(await limited.lookupDomain('capped.test')).toMatchObject({ code: 'rdap_rate_limited', retryAfterMs: 20_000 });
      clock.advance(20_000);
      expect(await limited.lookupDomain('garbled.test')).toMatchObject({ code: 'rdap_rate_limited', retryAfterMs: 5_000 });
    } finally {
      await local.close();
    }
  });

  it('a 429 from one registry does not pause the others', async () => {
    const busy = await startRdapFixture();
    const calm = await startRdapFixture();
    try {
      const both = createRdapClient({
        baseUrlFor: (domain) => (domain.endsWith('.busy') ? busy.baseUrl : calm.baseUrl),
        clock, timeoutMs: 5000, maxResponseBytes: 65536, maxRedirects: 3,
        connection: { allowNonPublic: (address, port) => Boolean(busy.connection.allowNonPublic?.(address, port) || calm.connection.allowNonPublic?.(address, port)) },
      });
      busy.set('flooded.busy', { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
      busy.set('next.busy', { kind: 'registered', registeredAt: Date.UTC(2011, 0, 1) });
      calm.set('phish.calm', { kind: 'registered', registeredAt: clock.now() - 40 * MINUTE });
      expect(await both.lookupDomain('flooded.busy')).toMatchObject({ code: 'rdap_rate_limited' });
      expect(await both.lookupDomain('next.busy')).toMatchObject({ code: 'rdap_rate_limited' });
      expect(busy.hits('next.busy')).toBe(0);
      expect(await both.lookupDomain('phish.calm')).toMatchObject({ status: 'registered' });
      expect(calm.hits('phish.calm')).toBe(1);
    } finally {
      await busy.close();
      await calm.close();
    }
  });

  it('rejects invalid JSON, non-objects and answers about another name', async () => {
    fixture.set('malformed.test', { kind: 'malformed' });
    fixture.set('array.test', { kind: 'raw', contentType: 'application/rdap+json', body: '[1,2,3]' });
    fixture.set('other-name.test', { kind: 'wrong_name', ldhName: 'google.com' });
    expect(await client().lookupDomain('malformed.test')).toMatchObject({ status: 'error', code: 'rdap_invalid_json' });
    expect(await client().lookupDomain('array.test')).toMatchObject({ status: 'error', code: 'rdap_invalid_response' });
    expect(await client().lookupDomain('other-name.test')).toMatchObject({ status: 'error', code: 'rdap_invalid_response' });
  });

  it('reports a domain object without registration event as no_registration_date', async () => {
    fixture.set('no-events.test', { kind: 'no_events' });
    expect(await client().lookupDomain('no-events.test')).toMatchObject({ status: 'no_registration_date' });
  });

  it('follows a redirect (RFC 7480 §5.2) and stops a redirect loop', async () => {
    const registeredAt = Date.UTC(2015, 5, 1);
    fixture.set('moved.test', { kind: 'redirect', then: { kind: 'registered', registeredAt } });
    fixture.set('loop.test', { kind: 'redirect_loop' });
    expect(await client().lookupDomain('moved.test')).toMatchObject({ status: 'registered', registeredAt });
    expect(await client().lookupDomain('loop.test')).toMatchObject({ status: 'error', code: 'rdap_too_many_redirects' });
    expect(await client({ maxRedirects: 0 }).lookupDomain('moved.test')).toMatchObject({ status: 'error', code: 'rdap_too_many_redirects' });
  });

  it('refuses a redirect to a non-http scheme', async () => {
    fixture.set('to-file.test', { kind: 'redirect_to', location: 'file:///etc/passwd' });
    expect(await client().lookupDomain('to-file.test')).toMatchObject({ status: 'error', code: 'rdap_bad_redirect' });
  });

  it('refuses oversize bodies, declared or not', async () => {
    fixture.set('huge-declared.test', { kind: 'oversize', bytes: 1024 * 1024, declareLength: true });
    fixture.set('huge-chunked.test', { kind: 'oversize', bytes: 1024 * 1024, declareLength: false });
    expect(await client().lookupDomain('huge-declared.test')).toMatchObject({ status: 'error', code: 'rdap_too_large' });
    expect(await client().lookupDomain('huge-chunked.test')).toMatchObject({ status: 'error', code: 'rdap_too_large' });
  });

  it('times out a server that does not answer', async () => {
    fixture.set('stuck.test', { kind: 'slow', delayMs: 30_000, registeredAt: 0 });
    expect(await client({ timeoutMs: 200 }).lookupDomain('stuck.test')).toMatchObject({ status: 'error', code: 'rdap_timeout' });
  });

  it('reports a connection failure as rdap_network', async () => {
    const closed = await startRdapFixture();
    const deadBase = closed.baseUrl;
    await closed.close();
    const outcome = await client({ baseUrlFor: () => deadBase, connection: closed.connection }).lookupDomain('gone.test');
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_network' });
  });

  it('answers no_server without any request when no RDAP service is listed', async () => {
    const before = fixture.totalRequests;
    expect(await client().lookupDomain('example.nordap')).toEqual({ status: 'no_server', domain: 'example.nordap' });
    expect(fixture.totalRequests).toBe(before);
  });
});

describe('RDAP never reaches non-public addresses (SSRF)', () => {
  // Stands in for a service on the gateway's own network: reachable, but not allowed.
  let inside: RdapFixture;
  const resolveHost: ResolveHost = async (hostname) => {
    if (hostname === 'internal.example') return [{ address: '127.0.0.1', family: 4 }];
    if (hostname === 'mixed.example') return [{ address: '93.184.215.14', family: 4 }, { address: '10.0.0.8', family: 4 }];
    throw Object.assign(new Error(`${hostname} not found`), { code: 'ENOTFOUND' });
  };
  beforeAll(async () => {
    inside = await startRdapFixture();
    inside.set('secret.test', { kind: 'registered', registeredAt: Date.UTC(2020, 0, 1) });
  });
  afterAll(async () => {
    await inside.close();
  });

  const redirectedTo = async (domain: string, location: string) => {
    fixture.set(domain, { kind: 'redirect_to', location });
    return client({ connection: { ...fixture.connection, resolveHost } }).lookupDomain(domain);
  };

  it('refuses a redirect to 127.0.0.1 before sending anything there', async () => {
    const outcome = await redirectedTo('to-loopback.test', `http://127.0.0.1:${new URL(inside.origin).port}/rdap/domain/secret.test`);
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_non_public_address', detail: '127.0.0.1 is loopback space' });
    expect(inside.totalRequests).toBe(0);
  });

  it('refuses redirects to [::1], [::ffff:127.0.0.1], 10.x and the link-local metadata address', async () => {
    const port = new URL(inside.origin).port;
    for (const [domain, location, range] of [
      ['to-v6-loopback.test', `http://[::1]:${port}/rdap/domain/secret.test`, 'loopback'],
      ['to-mapped.test', `http://[::ffff:127.0.0.1]:${port}/rdap/domain/secret.test`, 'IPv4-mapped loopback'],
      ['to-private.test', 'http://10.20.30.40/rdap/domain/secret.test', 'private'],
      ['to-metadata.test', 'http://169.254.169.254/latest/meta-data/', 'link-local'],
      ['to-cgnat.test', 'https://100.64.1.1/rdap/domain/secret.test', 'shared (CGNAT)'],
      ['to-ula.test', 'https://[fd00::1]/rdap/domain/secret.test', 'unique local'],
    ] as const) {
      const outcome = await redirectedTo(domain, location);
      expect(outcome, location).toMatchObject({ status: 'error', code: 'rdap_non_public_address' });
      expect(outcome.status === 'error' && outcome.detail.split(' is ')[1], location).toBe(`${range} space`);
    }
    expect(inside.totalRequests).toBe(0);
  });

  it('checks the resolved address: a public-looking name that resolves to 127.0.0.1 is refused', async () => {
    const outcome = await redirectedTo('to-internal-name.test', `http://internal.example:${new URL(inside.origin).port}/rdap/domain/secret.test`);
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_non_public_address', detail: 'internal.example resolves to 127.0.0.1 (loopback space)' });
    expect(inside.totalRequests).toBe(0);
  });

  it('refuses a name when any of its addresses is private (no rebinding through mixed answers)', async () => {
    const outcome = await redirectedTo('to-mixed.test', 'http://mixed.example/rdap/domain/secret.test');
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_non_public_address', detail: 'mixed.example resolves to 10.0.0.8 (private space)' });
  });

  it('refuses by default: without an explicit allowance even the configured server on 127.0.0.1 is not contacted', async () => {
    fixture.set('default-refuses.test', { kind: 'registered', registeredAt: Date.UTC(2010, 0, 1) });
    const outcome = await client({ connection: {} }).lookupDomain('default-refuses.test');
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_non_public_address' });
    expect(fixture.hits('default-refuses.test')).toBe(0);
  });
});

describe.runIf(haveCommand('openssl'))('RDAP over https', () => {
  let dir: string;
  let server: ReturnType<typeof createHttpsServer>;
  let certPem: Buffer;
  let httpsPort: number;
  let httpsBase: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-rdap-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { timeout: 30_000 });
    certPem = readFileSync(cert);
    server = createHttpsServer({ key: readFileSync(key), cert: certPem }, (request, response) => {
      const name = (request.url ?? '').split('/').pop() ?? '';
      if (name === 'downgrade.test') {
        // Same fixture over plain http: an on-path attacker could answer that one.
        response.writeHead(302, { location: `${fixture.baseUrl}domain/young.test` }).end();
      } else if (request.url === '/rdap/domain/tls-moved.test') {
        response.writeHead(301, { location: '/moved/domain/tls-moved.test' }).end();
      } else {
        response.writeHead(200, { 'content-type': 'application/rdap+json' });
        response.end(JSON.stringify({ objectClassName: 'domain', ldhName: name, events: [{ eventAction: 'registration', eventDate: '2024-02-29T10:00:00Z' }] }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    httpsPort = (server.address() as AddressInfo).port;
    httpsBase = `https://127.0.0.1:${httpsPort}/rdap/`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsClient = () =>
    client({
      baseUrlFor: () => httpsBase,
      connection: { tls: { ca: certPem }, allowNonPublic: (address, port) => address === '127.0.0.1' && port === httpsPort },
    });

  it('follows a redirect that stays on https', async () => {
    const registeredAt = Date.UTC(2024, 1, 29, 10);
    expect(await tlsClient().lookupDomain('tls-plain.test')).toMatchObject({ status: 'registered', registeredAt });
    expect(await tlsClient().lookupDomain('tls-moved.test')).toMatchObject({ status: 'registered', registeredAt });
  });

  it('refuses an https -> http downgrade redirect with rdap_bad_redirect', async () => {
    expect(await tlsClient().lookupDomain('downgrade.test')).toMatchObject({ status: 'error', code: 'rdap_bad_redirect' });
  });
});
