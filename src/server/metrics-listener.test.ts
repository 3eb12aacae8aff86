import { Counter, Registry } from 'prom-client';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { formatConfigIssues } from '../config/index.js';
import { serverSchema } from '../config/index.js';
import { startMetricsListener, type MetricsListener } from './metrics-listener.js';

const TOKEN = 'scrape-token-0123456789abcdef';
let running: MetricsListener | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

function registryWithACounter(): Registry {
  const registry = new Registry();
  new Counter({ name: 'gatehouse_test_events_total', help: 'test', registers: [registry] }).inc(3);
  return registry;
}

function metricsConfig(metrics: Record<string, unknown>) {
  return serverSchema.parse({ portal_host: 'sso.acme.test', http: { port: 0 }, metrics }).metrics!;
}

async function scrape(path: string, authorization?: string) {
  const res = await request(`http://127.0.0.1:${running!.port}${path}`, { headers: authorization ? { authorization } : {} });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

describe('metrics listener with a bearer token', () => {
  it('refuses a scrape without a token with 401 and a Bearer challenge', async () => {
    running = await startMetricsListener(metricsConfig({ port: 0, bearer_token: TOKEN }), registryWithACounter());
    const res = await scrape('/metrics');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="gatehouse-metrics"');
    expect(res.body).not.toContain('gatehouse_');
  });

  it('refuses a wrong token, a token prefix and another scheme with 401 invalid_token', async () => {
    running = await startMetricsListener(metricsConfig({ port: 0, bearer_token: TOKEN }), registryWithACounter());
    for (const authorization of ['Bearer wrong-token-0123456789abcdef', `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${TOKEN}`]) {
      const res = await scrape('/metrics', authorization);
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toContain('error="invalid_token"');
      expect(res.body).not.toContain('gatehouse_');
    }
  });

  it('serves the registry to the right token, and nothing but /metrics', async () => {
    running = await startMetricsListener(metricsConfig({ port: 0, bearer_token: TOKEN }), registryWithACounter());
    const res = await scrape('/metrics', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.body).toContain('gatehouse_test_events_total 3');
    expect((await scrape('/healthz', `Bearer ${TOKEN}`)).status).toBe(404);
  });
});

describe('metrics listener configuration', () => {
  it('listens on loopback by default and serves without a token there', async () => {
    const config = metricsConfig({ port: 0 });
    expect(config.host).toBe('127.0.0.1');
    expect(metricsConfig({}).port).toBe(9464);
    running = await startMetricsListener(config, registryWithACounter());
    expect((await scrape('/metrics')).status).toBe(200);
  });

  it('refuses a non-loopback metrics host without bearer_token, naming the key', () => {
    const parsed = serverSchema.safeParse({ portal_host: 'sso.acme.test', http: { port: 0 }, metrics: { host: '0.0.0.0' } });
    expect(parsed.success).toBe(false);
    expect(formatConfigIssues(parsed.error!, ['server'])).toContain('server.metrics.bearer_token: a metrics listener on a non-loopback host needs bearer_token');
  });
});
