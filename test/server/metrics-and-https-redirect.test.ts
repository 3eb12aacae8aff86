/**
 * Transport of a running Gatehouse: /metrics only on its own listener (never the portal or app hosts),
 * plain HTTP sent to HTTPS when both listen, HSTS with includeSubDomains when configured.
 */
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

async function startWith(serverYaml: string, dir: string): Promise<{ gatehouse: RunningGatehouse; httpPort: number }> {
  const httpPort = await freePort();
  const yaml = fixtureConfigYaml({ port: httpPort, dir }).replace('server:\n', `server:\n${serverYaml}`);
  const apps = `apps:\n  - name: wiki\n    host: wiki.acme.localhost\n    upstream: http://127.0.0.1:9\n    policies:\n      - { name: staff, action: allow, include: [{ group: [staff] }] }\n`;
  const configPath = join(dir, 'gatehouse.yaml');
  writeFileSync(configPath, yaml + apps);
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
    );
  });
  afterAll(async () => {
    await running?.gatehouse.close();
    await dispatcher.close();
    rmSync(dir, { recursive: true, force: true });
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
