/**
 * Transport of a running Gatehouse: /metrics only on its own listener (never the portal or app hosts),
 * plain HTTP sent to HTTPS when both listen or when a trusted proxy terminates TLS, HSTS with
 * includeSubDomains when configured.
 *
 * Attacks on the redirect (written before the tests): a client that is not the trusted proxy sends
 * `X-Forwarded-Proto: https` or `Forwarded: proto=https` to be served the sign-in page over plain
 * HTTP; a hostile Host, X-Forwarded-Host or path to turn the redirect into an open redirect. The
 * trusted proxy is 127.0.0.2 (connections made from that source address); 127.0.0.1 is anyone else.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSelfSignedCertificate } from '../../src/cli/demo-config.js';
import { loadConfigFile } from '../../src/config/index.js';
import { startGatehouse, type RunningGatehouse } from '../../src/main.js';
import { haveCommand } from '../peers.js';
import { fixtureConfigYaml, freePort } from '../support/gatehouse-fixture.js';

const TOKEN = 'metrics-scrape-token-0123456789';
const haveOpenssl = haveCommand('openssl');

async function startWith(serverYaml: string, dir: string, extraYaml = ''): Promise<{ gatehouse: RunningGatehouse; httpPort: number }> {
  const httpPort = await freePort();
  const yaml = fixtureConfigYaml({ port: httpPort, dir }).replace('server:\n', `server:\n${serverYaml}`);
  const apps = `apps:\n  - name: wiki\n    host: wiki.acme.localhost\n    upstream: http://127.0.0.1:9\n    policies:\n      - { name: staff, action: allow, include: [{ group: [staff] }] }\n`;
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(configPath, yaml + apps + extraYaml);
  const gatehouse = await startGatehouse({ snapshot: loadConfigFile(configPath), logDestination: new Writable({ write: (_c, _e, done) => done() }) });
  return { gatehouse, httpPort };
}

describe('/metrics on its own listener with a bearer token', () => {
  let dir: string;
  let running: { gatehouse: RunningGatehouse; httpPort: number };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-'));
    running = await startWith(`  metrics:\n    host: 127.0.0.1\n    port: 0\n    bearer_token: ${TOKEN}\n`, dir);
  });
  afterAll(async () => {
    await running?.gatehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 404 for /metrics on the portal host, an app host and a bare address', async () => {
    for (const host of ['sso.acme.localhost', `sso.acme.localhost:${running.httpPort}`, '127.0.0.1']) {
      const res = await running.gatehouse.inject({ method: 'GET', url: '/metrics', headers: { host, authorization: `Bearer ${TOKEN}` } });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('gatehouse_');
    }
    // Over the socket too, and an app host never gets Gatehouse's metrics (it is the app's path).
    const portal = await request(`http://127.0.0.1:${running.httpPort}/metrics`, { headers: { host: 'sso.acme.localhost' } });
    expect(portal.statusCode).toBe(404);
    const app = await request(`http://127.0.0.1:${running.httpPort}/metrics`, { headers: { host: 'wiki.acme.localhost' } });
    expect(app.statusCode).not.toBe(200);
    expect(await app.body.text()).not.toContain('gatehouse_');
  });

  it('answers 401 on the metrics listener without a token or with a wrong one', async () => {
    const url = `http://127.0.0.1:${running.gatehouse.metricsPort}/metrics`;
    const bare = await request(url);
    expect(bare.statusCode).toBe(401);
    expect(await bare.body.text()).not.toContain('gatehouse_');
    const wrong = await request(url, { headers: { authorization: 'Bearer not-the-token-0123456789' } });
    expect(wrong.statusCode).toBe(401);
    expect(await wrong.body.text()).not.toContain('gatehouse_');
  });

  it('serves gatehouse_ metrics to the right token', async () => {
    const res = await request(`http://127.0.0.1:${running.gatehouse.metricsPort}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.statusCode).toBe(200);
    const body = await res.body.text();
    expect(body).toMatch(/^gatehouse_active_sessions \d+$/m);
    expect(body).toContain('gatehouse_store_unavailable_responses_total');
  });
});

describe('without server.metrics', () => {
  it('serves no metrics anywhere', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-metrics-'));
    const running = await startWith('', dir);
    try {
      expect(running.gatehouse.metricsPort).toBeUndefined();
      const res = await running.gatehouse.inject({ method: 'GET', url: '/metrics', headers: { host: 'sso.acme.localhost' } });
      expect(res.statusCode).toBe(404);
    } finally {
      await running.gatehouse.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const TRUSTED_PROXY = `access:\n  trusted_proxies: ["127.0.0.2"]\n`;
/** The trusted proxy's source address; requests without it come from 127.0.0.1, an untrusted peer. */
const fromProxy = '127.0.0.2';

interface PlainAnswer {
  status: number;
  location: string | undefined;
  hsts: string | undefined;
  cookies: string[];
}

/** A plain-HTTP request over node:http, which can pick the source address (undici's connector cannot). */
function plainRequest(port: number, path: string, headers: Record<string, string>, localAddress?: string): Promise<PlainAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      res.resume();
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          location: res.headers.location,
          hsts: res.headers['strict-transport-security'],
          cookies: res.headers['set-cookie'] ?? [],
        }),
      );
    });
    req.on('error', reject);
  });
}

describe.runIf(haveOpenssl)('HTTP and HTTPS listeners together', () => {
  let dir: string;
  let running: { gatehouse: RunningGatehouse; httpPort: number };
  let httpsPort: number;
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false, servername: 'sso.acme.localhost' } });
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-redirect-'));
    await writeSelfSignedCertificate(join(dir, 'tls'), 'sso.acme.localhost');
    httpsPort = await freePort();
    running = await startWith(
      `  https:\n    host: 127.0.0.1\n    port: ${httpsPort}\n    cert_file: tls/cert.pem\n    key_file: tls/key.pem\n  hsts:\n    include_subdomains: true\n`,
      dir,
      TRUSTED_PROXY,
    );
  });
  afterAll(async () => {
    await running?.gatehouse.close();
    await dispatcher.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const plain = (path: string, headers: Record<string, string>, localAddress?: string) => plainRequest(running.httpPort, path, headers, localAddress);

  it('serves a request the trusted proxy says came over https, with HSTS and Secure cookies, and no redirect loop', async () => {
    const host = 'sso.acme.localhost';
    for (const headers of [{ host, 'x-forwarded-proto': 'https' }, { host, forwarded: 'for=198.51.100.7;proto=https' }] as Record<string, string>[]) {
      const res = await plain('/sign-in', headers, fromProxy);
      expect({ status: res.status, location: res.location, hsts: res.hsts }).toEqual({ status: 200, location: undefined, hsts: 'max-age=31536000; includeSubDomains' });
      expect(res.cookies.length).toBeGreaterThan(0);
      for (const cookie of res.cookies) expect(cookie).toMatch(/;\s*Secure/i);
    }
  });

  it('redirects the trusted proxy\'s plain-http requests, and any request of another peer whatever proto it claims', async () => {
    const host = 'sso.acme.localhost';
    const to = `https://sso.acme.localhost:${httpsPort}/sign-in`;
    const cases: { headers: Record<string, string>; via: string | undefined }[] = [
      { headers: { host, 'x-forwarded-proto': 'http' }, via: fromProxy },
      { headers: { host }, via: fromProxy },
      { headers: { host, 'x-forwarded-proto': 'https' }, via: undefined },
      { headers: { host, forwarded: 'for=127.0.0.2;proto=https' }, via: undefined },
      { headers: { host, 'x-forwarded-proto': 'https', forwarded: 'proto=https', 'x-forwarded-for': '127.0.0.2' }, via: undefined },
    ];
    for (const { headers, via } of cases) {
      const res = await plain('/sign-in', headers, via);
      expect({ status: res.status, location: res.location, hsts: res.hsts }).toEqual({ status: 308, location: to, hsts: undefined });
    }
  });

  it('keeps the redirect on a configured host whatever Host, X-Forwarded-Host or path a hostile client sends', async () => {
    const origin = `https://sso.acme.localhost:${httpsPort}`;
    const spoofed = await plain('/sign-in', { host: 'sso.acme.localhost', 'x-forwarded-host': 'evil.example' });
    expect({ status: spoofed.status, location: spoofed.location }).toEqual({ status: 308, location: `${origin}/sign-in` });
    const fromProxySpoofed = await plain('/sign-in', { host: 'sso.acme.localhost', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' }, fromProxy);
    expect({ status: fromProxySpoofed.status, location: fromProxySpoofed.location }).toEqual({ status: 308, location: `${origin}/sign-in` });
    const userinfo = await plain('/x', { host: 'sso.acme.localhost@evil.example' });
    expect({ status: userinfo.status, location: userinfo.location }).toEqual({ status: 421, location: undefined });
    const schemeRelative = await plain('//evil.example/x', { host: 'sso.acme.localhost' });
    expect({ status: schemeRelative.status, location: schemeRelative.location }).toEqual({ status: 308, location: `${origin}//evil.example/x` });
    // A host we do not serve is never redirected anywhere.
    const foreign = await plain('/sign-in', { host: 'evil.example' });
    expect({ status: foreign.status, location: foreign.location }).toEqual({ status: 421, location: undefined });
  });

  it('answers plain HTTP for the portal and app hosts with 308 to the HTTPS origin, same path and query', async () => {
    const cases = [
      { host: `sso.acme.localhost:${running.httpPort}`, method: 'GET', path: '/sign-in?return_to=%2Faccount', to: `https://sso.acme.localhost:${httpsPort}/sign-in?return_to=%2Faccount` },
      { host: 'SSO.acme.localhost', method: 'POST', path: '/api/sign-in/options', to: `https://sso.acme.localhost:${httpsPort}/api/sign-in/options` },
      { host: `wiki.acme.localhost:${running.httpPort}`, method: 'GET', path: '/page?id=7', to: `https://wiki.acme.localhost:${httpsPort}/page?id=7` },
    ];
    for (const { host, method, path, to } of cases) {
      const res = await request(`http://127.0.0.1:${running.httpPort}${path}`, { method: method as 'GET', headers: { host } });
      expect(res.statusCode).toBe(308);
      expect(res.headers.location).toBe(to);
      await res.body.dump();
    }
  });

  it('does not redirect hosts it does not serve, nor probes on a bare address', async () => {
    const probe = await request(`http://127.0.0.1:${running.httpPort}/healthz`);
    expect(probe.statusCode).toBe(200);
    await probe.body.dump();
    const unknown = await request(`http://127.0.0.1:${running.httpPort}/`, { headers: { host: 'elsewhere.example' } });
    expect(unknown.statusCode).not.toBe(308);
    await unknown.body.dump();
    // A Host header no URL parser accepts is refused by the host router, not a crash.
    const malformed = await request(`http://127.0.0.1:${running.httpPort}/`, { headers: { host: 'sso.acme.localhost:99999' } });
    expect(malformed.statusCode).not.toBe(308);
    await malformed.body.dump();
    expect((await request(`http://127.0.0.1:${running.httpPort}/healthz`)).statusCode).toBe(200);
  });

  it('serves the portal over HTTPS with HSTS including subdomains when configured', async () => {
    const res = await request(`https://127.0.0.1:${httpsPort}/sign-in`, { headers: { host: `sso.acme.localhost:${httpsPort}` }, dispatcher });
    expect(res.statusCode).toBe(200);
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    await res.body.dump();
  });
});

describe('behind a TLS-terminating proxy: HTTP listener only, public URL https', () => {
  let dir: string;
  let running: { gatehouse: RunningGatehouse; httpPort: number };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-redirect-proxy-'));
    running = await startWith('  public_url: https://sso.acme.localhost\n', dir, TRUSTED_PROXY);
  });
  afterAll(async () => {
    await running?.gatehouse.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves what the proxy says was https and sends plain HTTP to the public URL', async () => {
    const viaProxy = await plainRequest(running.httpPort, '/sign-in', { host: 'sso.acme.localhost', 'x-forwarded-proto': 'https' }, fromProxy);
    expect({ status: viaProxy.status, location: viaProxy.location }).toEqual({ status: 200, location: undefined });
    const direct = await plainRequest(running.httpPort, '/sign-in?x=1', { host: 'sso.acme.localhost', 'x-forwarded-proto': 'https' });
    expect({ status: direct.status, location: direct.location }).toEqual({ status: 308, location: 'https://sso.acme.localhost/sign-in?x=1' });
    const app = await plainRequest(running.httpPort, '/page', { host: 'wiki.acme.localhost' }, fromProxy);
    expect({ status: app.status, location: app.location }).toEqual({ status: 308, location: 'https://wiki.acme.localhost/page' });
  });
});
