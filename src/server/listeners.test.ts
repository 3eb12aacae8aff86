import http from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { serverSchema } from '../config/index.js';
import { connectionsCheckingIntervalFor, DEFAULT_LISTENER_LIMITS, startListeners, type Listeners } from './listeners.js';

const config = serverSchema.parse({ portal_host: 'sso.acme.test', http: { host: '127.0.0.1', port: 0 } });
const handler: http.RequestListener = (_request, response) => void response.end('ok');
let running: Listeners | undefined;

afterEach(async () => {
  await running?.close();
  running = undefined;
});

/** Sends `head` and resolves with what the server wrote before it closed the socket. */
function sendAndWaitForClose(port: number, head: string): Promise<{ received: string }> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve({ received }));
  });
}

describe('HTTP listener slowloris limits', () => {
  it('cuts off a request head that never completes, with the connection sweep tightened to the header timeout', { timeout: 40_000 }, async () => {
    const server = http.createServer(handler);
    running = await startListeners(config, '.', server, handler, { ...DEFAULT_LISTENER_LIMITS, headersTimeoutMs: 2000 });
    // Node enforces headersTimeout only when its sweep runs (every 30 s by default); the listener sets
    // the sweep so the limit holds. Checked on the server itself: no wall-clock assertion on a shared machine.
    expect((server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval).toBe(connectionsCheckingIntervalFor(2000));
    expect(server.headersTimeout).toBe(2000);
    const { received } = await sendAndWaitForClose(running.httpPort!, 'GET /sign-in HTTP/1.1\r\nHost: sso.acme.test\r\nX-Slow: ');
    expect(received === '' || received.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('still answers a complete request', async () => {
    running = await startListeners(config, '.', http.createServer(handler), handler, { ...DEFAULT_LISTENER_LIMITS, headersTimeoutMs: 2000 });
    const { received } = await sendAndWaitForClose(running.httpPort!, 'GET / HTTP/1.1\r\nHost: sso.acme.test\r\nConnection: close\r\n\r\n');
    expect(received).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('by default enforces the 15 s header limit with a sweep of at most 1 s', async () => {
    const server = http.createServer(handler);
    running = await startListeners(config, '.', server, handler);
    expect(server.headersTimeout).toBe(15_000);
    expect((server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval).toBe(1000);
    expect(connectionsCheckingIntervalFor(2000)).toBe(500);
    expect(connectionsCheckingIntervalFor(50)).toBe(100);
  });
});
