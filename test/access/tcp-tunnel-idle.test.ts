/**
 * A half-open or forgotten tunnel does not hold its socket and slot forever: with no byte either way for
 * the app's idle timeout it is closed and audited as `idle_timeout`. The clock is a manual one; the
 * sweep's timer only paces the check.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTunnelStream } from '../../src/cli/tunnel-client.js';
import { ManualClock } from '../../src/lib/clock.js';
import { cliLoginSteps } from '../support/cli-login-steps.js';
import { startFixture, type GatehouseFixture } from '../support/gatehouse-fixture.js';
import { TestBrowser } from '../support/http-client.js';
import { enrolThroughPortal } from '../support/portal-sign-in.js';

let fx: GatehouseFixture;
let silent: Server;
const sockets = new Set<Socket>();
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  // Accepts and never answers: the other end of a stream nobody uses.
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  fx = await startFixture({
    clock,
    extraYaml: `tcp:
  apps:
    - name: quiet
      upstream: 127.0.0.1:${(silent.address() as AddressInfo).port}
      idle_timeout_seconds: 60
      policies: [{ action: allow, include: [{ everyone: true }] }]
`,
  });
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await fx?.close();
  await new Promise((r) => silent?.close(r));
});

it('closes a tunnel idle for the app idle timeout', async () => {
  const browser = new TestBrowser(fx.port);
  await enrolThroughPortal(fx, browser, 'idle@acme.localhost');
  const credential = await cliLoginSteps(fx).credentialFor(browser);
  const stream = await openTunnelStream({ portal: fx.portalOrigin, credential, email: 'idle@acme.localhost', expiresAt: Date.now() + 3_600_000 }, 'quiet');
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  expect(fx.gatehouse.tcpTunnels.openTunnels).toBe(1);
  clock.advance(61_000);
  await closed;
  const reasonOf = async () => ((await fx.gatehouse.core.audit.list({ type: 'tunnel.closed', limit: 1 }))[0]?.detail as Record<string, unknown> | undefined)?.reason;
  for (let i = 0; i < 200 && (await reasonOf()) === undefined; i++) await new Promise((r) => setTimeout(r, 25));
  expect(await reasonOf()).toBe('idle_timeout');
  expect(fx.gatehouse.tcpTunnels.openTunnels).toBe(0);
});
