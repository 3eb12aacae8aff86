/**
 * A database outage is a 503 with Retry-After, logged once: Gatehouse on PostgreSQL through a TCP
 * proxy the test controls; closing the proxy is the outage, reopening it the recovery.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { havePostgres, POSTGRES_TEST_URL } from '../peers.js';
import { freshPostgresDatabase, startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';

const pgUp = await havePostgres();

/** A TCP relay to PostgreSQL that can be cut (every socket destroyed, port closed) and reopened. */
class CuttableProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async open(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.target);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as net.AddressInfo).port;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

const levelOf = (line: string) => (JSON.parse(line) as { level: number }).level;
const messageOf = (line: string) => (JSON.parse(line) as { msg: string }).msg;

describe.runIf(pgUp)('database outage (PostgreSQL behind a proxy that is cut)', () => {
  let fx: GatehouseFixture;
  let proxy: CuttableProxy;
  const accountRequest = () =>
    fx.gatehouse.inject({ method: 'GET', url: '/account', headers: { host: fx.portalHost, cookie: `gatehouse_session=${'x'.repeat(43)}` } });

  beforeAll(async () => {
    const direct = new URL(await freshPostgresDatabase(POSTGRES_TEST_URL, 'gatehouse_store_outage'));
    proxy = new CuttableProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    await proxy.open();
    const proxied = new URL(direct);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    fx = await startFixture({ databaseUrl: proxied.toString() });
  });
  afterAll(async () => {
    await proxy?.cut();
    await fx?.close().catch(() => undefined);
  });

  it('answers 503 with Retry-After and code store_unavailable, logs one error line, and one line when the database is back', { timeout: 30_000 }, async () => {
    // Reachable: an unknown session cookie is sent to sign in.
    expect((await accountRequest()).statusCode).toBe(303);
    const logsBefore = fx.logs.length;

    await proxy.cut();
    const pages = [];
    for (let i = 0; i < 5; i++) pages.push(await accountRequest());
    for (const page of pages) {
      expect(page.statusCode).toBe(503);
      expect(page.headers['retry-after']).toBe('5');
      expect(page.body).toContain('briefly unavailable');
      expect(page.body).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
    }
    const api = await fx.gatehouse.inject({ method: 'GET', url: '/account', headers: { host: fx.portalHost, accept: 'application/json', cookie: `gatehouse_session=${'y'.repeat(43)}` } });
    expect(api.statusCode).toBe(503);
    expect(api.json()).toMatchObject({ code: 'store_unavailable' });

    const outageLines = fx.logs.slice(logsBefore);
    const errors = outageLines.filter((line) => levelOf(line) >= 50);
    expect(errors.map(messageOf)).toEqual([expect.stringContaining('database unreachable')]);
    expect(outageLines.some((line) => messageOf(line) === 'unhandled error')).toBe(false);
    expect(await fx.gatehouse.registry.getSingleMetricAsString('gatehouse_store_unavailable_responses_total')).toMatch(/ 6$/m);

    await proxy.open();
    await expect.poll(() => fx.logs.slice(logsBefore).filter((line) => messageOf(line) === 'database reachable again').length, { timeout: 10_000 }).toBe(1);
    expect((await accountRequest()).statusCode).toBe(303);
  });
});
