import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveCommand } from '../../../test/peers.js';
import { ManualClock } from '../../lib/clock.js';
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

  it('on 429 pauses the whole server until Retry-After has passed', async () => {
    const local = await startRdapFixture();
    try {
      const limited = createRdapClient({ baseUrlFor: () => local.baseUrl, clock, timeoutMs: 5000, maxResponseBytes: 65536, maxRedirects: 3 });
      local.set('busy.test', { kind: 'status', status: 429, headers: { 'retry-after': '120' } });
      local.set('other.test', { kind: 'registered', registeredAt: Date.UTC(2010, 0, 1) });
      expect(await limited.lookupDomain('busy.test')).toMatchObject({ status: 'error', code: 'rdap_rate_limited', retryAfterMs: 120_000 });
      // Another domain on the same server is not even requested while paused.
      expect(await limited.lookupDomain('other.test')).toMatchObject({ status: 'error', code: 'rdap_rate_limited' });
      expect(local.hits('other.test')).toBe(0);
      clock.advance(121_000);
      expect(await limited.lookupDomain('other.test')).toMatchObject({ status: 'registered' });
      expect(local.hits('other.test')).toBe(1);
    } finally {
      await local.close();
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
    const outcome = await client({ baseUrlFor: () => deadBase }).lookupDomain('gone.test');
    expect(outcome).toMatchObject({ status: 'error', code: 'rdap_network' });
  });

  it('answers no_server without any request when no RDAP service is listed', async () => {
    const before = fixture.totalRequests;
    expect(await client().lookupDomain('example.nordap')).toEqual({ status: 'no_server', domain: 'example.nordap' });
    expect(fixture.totalRequests).toBe(before);
  });
});

describe.runIf(haveCommand('openssl'))('RDAP over https', () => {
  let dir: string;
  let server: ReturnType<typeof createHttpsServer>;
  let agent: Agent;
  let httpsBase: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-rdap-tls-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1'], { timeout: 30_000 });
    const certPem = readFileSync(cert);
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
    httpsBase = `https://127.0.0.1:${(server.address() as AddressInfo).port}/rdap/`;
    agent = new Agent({ connect: { ca: certPem } });
  });
  afterAll(async () => {
    await agent?.close();
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsClient = () => client({ baseUrlFor: () => httpsBase, dispatcher: agent });

  it('follows a redirect that stays on https', async () => {
    const registeredAt = Date.UTC(2024, 1, 29, 10);
    expect(await tlsClient().lookupDomain('tls-plain.test')).toMatchObject({ status: 'registered', registeredAt });
    expect(await tlsClient().lookupDomain('tls-moved.test')).toMatchObject({ status: 'registered', registeredAt });
  });

  it('refuses an https -> http downgrade redirect with rdap_bad_redirect', async () => {
    expect(await tlsClient().lookupDomain('downgrade.test')).toMatchObject({ status: 'error', code: 'rdap_bad_redirect' });
  });
});
