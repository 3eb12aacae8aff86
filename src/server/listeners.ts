import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { ServerConfig } from '../config/index.js';

export interface Listeners {
  servers: (http.Server | https.Server)[];
  httpPort: number | undefined;
  httpsPort: number | undefined;
  close(): Promise<void>;
}

/** Slowloris limits of every listener. */
export interface ListenerLimits {
  /** The whole request head must arrive within this many ms (then 408 and close). */
  headersTimeoutMs: number;
  /** A socket silent this long is closed. */
  idleTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export const DEFAULT_LISTENER_LIMITS: Readonly<ListenerLimits> = Object.freeze({ headersTimeoutMs: 15_000, idleTimeoutMs: 120_000, keepAliveTimeoutMs: 10_000 });

/**
 * Node enforces `headersTimeout` only when its connection sweep runs, every
 * `connectionsCheckingInterval` ms (30 s by default), so a 15 s limit would really be up to 30 s. The
 * sweep is made a quarter of the header limit, at most 1 s, so the limit holds to within a second.
 */
export function connectionsCheckingIntervalFor(headersTimeoutMs: number): number {
  return Math.max(100, Math.min(1000, Math.floor(headersTimeoutMs / 4)));
}

function listen(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: false }, () => {
      server.off('error', reject);
      resolvePort((server.address() as AddressInfo).port);
    });
  });
}

/**
 * The HTTP and HTTPS listeners. The HTTP server is the one fastify's serverFactory built; the HTTPS
 * server shares its request and upgrade handlers, so both serve the same portal and apps.
 */
export async function startListeners(
  config: ServerConfig,
  baseDir: string,
  httpServer: http.Server,
  handler: http.RequestListener,
  limits: Readonly<ListenerLimits> = DEFAULT_LISTENER_LIMITS,
): Promise<Listeners> {
  const servers: (http.Server | https.Server)[] = [];
  let httpPort: number | undefined;
  let httpsPort: number | undefined;
  // Slowloris limits (defaults: the request head within 15 s, a socket silent for 2 minutes closed).
  // No whole-request limit: uploads to apps may stream for as long as data keeps flowing.
  const tune = (server: http.Server) => {
    server.headersTimeout = limits.headersTimeoutMs;
    server.requestTimeout = 0;
    server.timeout = limits.idleTimeoutMs;
    server.keepAliveTimeout = limits.keepAliveTimeoutMs;
    // Read when the server starts listening, so setting it here (before listen) takes effect.
    (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = connectionsCheckingIntervalFor(limits.headersTimeoutMs);
  };
  if (config.http) {
    tune(httpServer);
    httpPort = await listen(httpServer, config.http.host, config.http.port);
    servers.push(httpServer);
  }
  if (config.https) {
    const tls = https.createServer(
      { cert: readFileSync(resolve(baseDir, config.https.cert_file)), key: readFileSync(resolve(baseDir, config.https.key_file)) },
      handler,
    );
    for (const listener of httpServer.listeners('upgrade')) tls.on('upgrade', listener as (...args: unknown[]) => void);
    tune(tls);
    httpsPort = await listen(tls, config.https.host, config.https.port);
    servers.push(tls);
  }
  return {
    servers,
    httpPort,
    httpsPort,
    async close() {
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((done) => {
              server.close(() => done());
              server.closeAllConnections?.();
            }),
        ),
      );
    },
  };
}
