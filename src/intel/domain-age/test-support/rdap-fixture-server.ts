import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PublicOnlyAgentOptions } from '../public-only-agent.js';

/** How the fixture answers for one domain. */
export type FixtureBehaviour =
  | { kind: 'registered'; registeredAt: number; events?: unknown }
  | { kind: 'slow'; delayMs: number; registeredAt: number }
  | { kind: 'not_found' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  | { kind: 'malformed' }
  | { kind: 'no_events' }
  | { kind: 'wrong_name'; ldhName: string }
  | { kind: 'oversize'; bytes: number; declareLength: boolean }
  /** 302 to `/final/domain/<name>`, which answers `then`. */
  | { kind: 'redirect'; then: FixtureBehaviour }
  /** 302 to an arbitrary Location. */
  | { kind: 'redirect_to'; location: string }
  /** 302 to itself, forever. */
  | { kind: 'redirect_loop' }
  | { kind: 'raw'; contentType: string; body: string };

export interface RdapFixture {
  /** RDAP base URL ending in `/`, for `rdap_overrides`. */
  readonly baseUrl: string;
  readonly origin: string;
  /**
   * RDAP connection settings that let a client reach this fixture (and nothing else non-public):
   * production refuses loopback, so tests must opt in explicitly.
   */
  readonly connection: PublicOnlyAgentOptions;
  set(domain: string, behaviour: FixtureBehaviour): void;
  /** Serve a plain file at `path` (feeds, bootstrap downloads). */
  setFile(path: string, status: number, body: string | Buffer, contentType?: string): void;
  /** Requests received for `/rdap/domain/<domain>` (redirect targets not included). */
  hits(domain: string): number;
  /** Requests received for any path. */
  readonly totalRequests: number;
  close(): Promise<void>;
}

function domainObject(name: string, registeredAt: number, events?: unknown) {
  return {
    objectClassName: 'domain',
    ldhName: name.toUpperCase(), // registries often answer in upper case (RFC 9083 §3 names are case-insensitive)
    rdapConformance: ['rdap_level_0'],
    events: events ?? [
      { eventAction: 'last changed', eventDate: new Date(registeredAt + 1000).toISOString() },
      { eventAction: 'registration', eventDate: new Date(registeredAt).toISOString() },
      { eventAction: 'expiration', eventDate: new Date(registeredAt + 365 * 86_400_000).toISOString() },
    ],
  };
}

/**
 * A real RDAP server on 127.0.0.1 (random port) for tests: young, old, unknown, slow, broken and
 * redirecting domains, counting every request so tests can prove what was cached or coalesced.
 */
export async function startRdapFixture(): Promise<RdapFixture> {
  const behaviours = new Map<string, FixtureBehaviour>();
  const files = new Map<string, { status: number; body: string | Buffer; contentType: string }>();
  const hitCounts = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let total = 0;

  function answer(response: ServerResponse, name: string, behaviour: FixtureBehaviour | undefined, request: IncomingMessage): void {
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/rdap+json' });
      response.end(JSON.stringify(body));
    };
    if (!behaviour || behaviour.kind === 'not_found') return json(404, { errorCode: 404, title: 'Not Found' });
    switch (behaviour.kind) {
      case 'registered':
        return json(200, domainObject(name, behaviour.registeredAt, behaviour.events));
      case 'slow': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!response.destroyed) json(200, domainObject(name, behaviour.registeredAt));
        }, behaviour.delayMs);
        timers.add(timer);
        return;
      }
      case 'status':
        response.writeHead(behaviour.status, { 'content-type': 'application/rdap+json', ...behaviour.headers });
        response.end(JSON.stringify({ errorCode: behaviour.status }));
        return;
      case 'malformed':
        response.writeHead(200, { 'content-type': 'application/rdap+json' });
        response.end('{"objectClassName":"domain","events":[{"eventAction":"registration",');
        return;
      case 'no_events':
        return json(200, { objectClassName: 'domain', ldhName: name });
      case 'wrong_name':
        return json(200, { ...domainObject(behaviour.ldhName, Date.UTC(2001, 0, 1)), ldhName: behaviour.ldhName });
      case 'oversize': {
        const chunk = Buffer.alloc(16 * 1024, 0x20);
        response.writeHead(200, { 'content-type': 'application/rdap+json', ...(behaviour.declareLength ? { 'content-length': String(behaviour.bytes) } : {}) });
        let sent = 0;
        const pump = () => {
          while (sent < behaviour.bytes && !response.destroyed) {
            const piece = chunk.subarray(0, Math.min(chunk.length, behaviour.bytes - sent));
            sent += piece.length;
            if (!response.write(piece)) return void response.once('drain', pump);
          }
          response.end();
        };
        pump();
        return;
      }
      case 'redirect':
        response.writeHead(302, { location: `/final/domain/${name}` });
        response.end();
        return;
      case 'redirect_to':
        response.writeHead(302, { location: behaviour.location });
        response.end();
        return;
      case 'redirect_loop':
        response.writeHead(302, { location: request.url ?? '/' });
        response.end();
        return;
      case 'raw':
        response.writeHead(200, { 'content-type': behaviour.contentType });
        response.end(behaviour.body);
        return;
    }
  }

  const server = createServer((request, response) => {
    total += 1;
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    const file = files.get(path);
    if (file) {
      response.writeHead(file.status, { 'content-type': file.contentType });
      response.end(file.body);
      return;
    }
    const match = /^\/(rdap|final)\/domain\/([^/]+)$/.exec(path);
    if (!match) {
      response.writeHead(404).end();
      return;
    }
    const name = decodeURIComponent(match[2] ?? '').toLowerCase();
    const behaviour = behaviours.get(name);
    if (match[1] === 'rdap') {
      hitCounts.set(name, (hitCounts.get(name) ?? 0) + 1);
      answer(response, name, behaviour, request);
    } else {
      answer(response, name, behaviour?.kind === 'redirect' ? behaviour.then : undefined, request);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseUrl: `${origin}/rdap/`,
    origin,
    connection: { allowNonPublic: (address, allowedPort) => address === '127.0.0.1' && allowedPort === port },
    set: (domain, behaviour) => void behaviours.set(domain.toLowerCase(), behaviour),
    setFile: (path, status, body, contentType = 'text/plain') => void files.set(path, { status, body, contentType }),
    hits: (domain) => hitCounts.get(domain.toLowerCase()) ?? 0,
    get totalRequests() {
      return total;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
