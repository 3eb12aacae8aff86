import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { ServerConfig } from '../config/sections/server.js';

export interface Listeners {
  servers: (http.Server | https.Server)[];
  httpPort: number | undefined;
  httpsPort: number | undefined;
  close(): Promise<void>;
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
): Promise<Listeners> {
  const servers: (http.Server | https.Server)[] = [];
  let httpPort: number | undefined;
  let httpsPort: number | undefined;
  // Slowloris limits: the request head must arrive within 15 s and a socket silent for 2 minutes is
  // closed. No whole-request limit: uploads to apps may stream for as long as data keeps flowing.
  const tune = (server: http.Server) => {
    server.headersTimeout = 15_000;
    server.requestTimeout = 0;
    server.timeout = 120_000;
    server.keepAliveTimeout = 10_000;
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
