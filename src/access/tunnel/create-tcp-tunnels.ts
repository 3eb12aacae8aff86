import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import type { AuditLog } from '../../audit/index.js';
import type { GatehouseConfig } from '../../config/index.js';
import { CLI_CREDENTIAL_FEED, type SessionView } from '../../identity/index.js';
import type { Clock } from '../../lib/clock.js';
import { isGatehouseError } from '../../lib/errors.js';
import { hashSecret } from '../../lib/secret-hash.js';
import type { Change } from '../../store/index.js';
import { identityOfSession, type AccessIdentity } from '../policy/index.js';
import { forwardedHeadersOf, rejectUpgrade, type TrustedProxies } from '../proxy/index.js';
import { compileTcpTunnelPolicy, TunnelRefusal, type TcpApp, type TcpTunnelPolicy } from './tcp-tunnel-policy.js';

/** `GET /cli/tunnel/<app>` on the portal host, with `Upgrade: websocket`. */
const TUNNEL_PATH = /^\/cli\/tunnel\/([a-z0-9-]{1,63})$/;

export interface TcpTunnelsDeps {
  config: GatehouseConfig;
  audit: AuditLog;
  clock: Clock;
  logger: Logger;
  /** The command line's credential, checked as every CLI endpoint checks it (CliLogin). */
  validateCredential(raw: unknown, ip: string): Promise<{ session: SessionView; expiresAt: number }>;
  isIpBlocked?: (ip: string) => boolean;
  trustedProxies: () => TrustedProxies;
}

interface LiveTunnel {
  app: string;
  userId: string;
  sessionHash: string;
  /** The hash of the credential that opened it (as stored): `gatehouse logout` closes it. */
  credentialHash: string;
  identity: AccessIdentity;
  ip: string;
  openedAt: number;
  lastActivityAt: number;
  /** The credential's end: a tunnel must not outlive what opened it. */
  endsAt: number;
  idleTimeoutMs: number;
  bytesUp: number;
  bytesDown: number;
  closeReason: string | undefined;
  close(reason: string): void;
}

export interface TcpTunnels {
  /** Takes the upgrade when it is a tunnel request for the portal host; false leaves it to others. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean;
  /** Closes the tunnels a change-feed row ends: a revoked session, a disabled or changed user, all. */
  applyChange(change: Change): void;
  /** Judges every open tunnel again (after an IP block or a reload) and closes those no longer allowed. */
  redecide(): number;
  reload(config: GatehouseConfig): void;
  readonly openTunnels: number;
  close(): void;
}

/**
 * TCP services through the access proxy: the command line opens a WebSocket to the portal with its
 * credential, and the proxy pipes its bytes to the tcp app's configured upstream. Threats and answers:
 * - a stolen CLI credential: checked at the upgrade, and it dies with its browser session or `gatehouse
 *   logout`; the feed row of that revocation (or of a disabled user, or `revoke all` from an incident)
 *   closes the tunnel on every instance, each closing its own;
 * - an open proxy: the client names an app, never a host or port; the upstream comes from config only;
 * - cross-site WebSocket hijacking: the credential is a bearer header a page cannot set, no cookie is
 *   read, and any upgrade carrying `Origin` (every browser sends one) is refused (`tunnel_origin_refused`);
 * - an address blocked, or a policy narrowed, mid-tunnel: every tunnel is judged again and closed;
 * - a half-open stream hogging sockets: an idle timeout per app, and a cap on tunnels per user.
 * Every tunnel is audited when it opens and when it closes (bytes each way, duration, reason).
 */
export function createTcpTunnels(deps: TcpTunnelsDeps): TcpTunnels {
  const { audit, clock, logger } = deps;
  let policy: TcpTunnelPolicy = compileTcpTunnelPolicy(deps.config, deps.isIpBlocked);
  let portalHost = deps.config.server.portal_host.toLowerCase();
  const live = new Set<LiveTunnel>();
  // Binary frames only, no compression (CRIME-style oracles, and the bytes are often encrypted already).
  const server = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 4 << 20 });

  const record = (event: Parameters<AuditLog['record']>[0]) => audit.record(event).catch((error: unknown) => logger.warn({ err: error }, 'audit write failed'));

  // The refusal is in the audit log before the client reads it.
  const refuse = async (socket: Duplex, error: unknown, ip: string, app: string, userId?: string) => {
    const known = isGatehouseError(error) ? error : undefined;
    if (!known) logger.error({ err: error, app }, 'tunnel upgrade failed');
    const status = known?.status ?? 500;
    const code = known?.code ?? 'internal_error';
    const reason = error instanceof TunnelRefusal ? error.reason : undefined;
    // Credential refusals are audited by CliLogin itself; the rest here, with the detail the client never sees.
    if (!code.startsWith('cli_credential_')) {
      await record({ type: 'tunnel.refused', outcome: 'failure', code, ip, ...(userId ? { userId, actor: `user:${userId}` } : {}), detail: { app, reason: reason ?? null, detail: known?.detail ?? null } });
    }
    const body = JSON.stringify({ code, message: known?.publicMessage ?? 'The tunnel could not be opened.', ...(reason ? { reason } : {}) });
    socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  };

  function connectUpstream(app: TcpApp): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const upstream = connect({ host: app.host, port: app.port, noDelay: true });
      const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), app.connectTimeoutMs);
      upstream.once('connect', () => {
        clearTimeout(timer);
        resolve(upstream);
      });
      upstream.once('error', (error) => {
        clearTimeout(timer);
        reject(new TunnelRefusal('tunnel_upstream_unreachable', 502, { publicMessage: 'The service behind this app does not answer.', detail: `${app.host}:${app.port}: ${error.message}` }));
      });
    });
  }

  async function open(req: IncomingMessage, socket: Duplex, head: Buffer, appName: string): Promise<void> {
    const ip = forwardedHeadersOf(req, deps.trustedProxies()).clientAddress;
    let userId: string | undefined;
    try {
      const malformed = rejectUpgrade(req);
      if (malformed) throw new TunnelRefusal(malformed, 400, { publicMessage: 'Not a WebSocket upgrade.', detail: malformed });
      // RFC 6455 §10.2: a browser always sends Origin; the command line never does.
      if (req.headers.origin !== undefined) throw new TunnelRefusal('tunnel_origin_refused', 403, { publicMessage: 'Tunnels are opened by the command line, not by web pages.', detail: `origin ${String(req.headers.origin).slice(0, 200)}` });
      const header = req.headers.authorization;
      const bearer = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,200})$/.exec(header)?.[1] : undefined;
      const { session, expiresAt } = await deps.validateCredential(bearer, ip);
      userId = session.userId;
      const identity = identityOfSession(session);
      const now = clock.now();
      const { app, policy: matched } = policy.admit(appName, identity, ip, now);
      let mine = 0;
      for (const tunnel of live) if (tunnel.userId === session.userId && tunnel.app === app.name) mine++;
      if (mine >= app.maxTunnelsPerUser) throw new TunnelRefusal('tunnel_limit', 429, { publicMessage: 'You have too many open tunnels to this app.', detail: `${mine} open, limit ${app.maxTunnelsPerUser}` });
      const upstream = await connectUpstream(app);
      if (socket.destroyed) {
        upstream.destroy();
        return;
      }
      const credentialHash = hashSecret(bearer!);
      server.handleUpgrade(req, socket, head, (ws) => pipe(ws, upstream, { app, session, credentialHash, identity, ip, expiresAt, policy: matched }));
    } catch (error) {
      await refuse(socket, error, ip, appName, userId);
    }
  }

  function pipe(ws: WebSocket, upstream: Socket, opened: { app: TcpApp; session: SessionView; credentialHash: string; identity: AccessIdentity; ip: string; expiresAt: number; policy: string | null }): void {
    const { app, session } = opened;
    const now = clock.now();
    const tunnel: LiveTunnel = {
      app: app.name,
      userId: session.userId,
      sessionHash: session.idHash,
      credentialHash: opened.credentialHash,
      identity: opened.identity,
      ip: opened.ip,
      openedAt: now,
      lastActivityAt: now,
      endsAt: opened.expiresAt,
      idleTimeoutMs: app.idleTimeoutMs,
      bytesUp: 0,
      bytesDown: 0,
      closeReason: undefined,
      close(reason) {
        tunnel.closeReason ??= reason;
        ws.terminate();
        upstream.destroy();
      },
    };
    live.add(tunnel);
    const actor = `user:${session.userId}`;
    const facts = { user: session.email, app: app.name, session: session.idHash.slice(0, 16), policy: opened.policy };
    void record({ type: 'tunnel.opened', outcome: 'success', actor, userId: session.userId, ip: opened.ip, detail: facts });

    const stream = createWebSocketStream(ws);
    stream.on('data', (chunk: Buffer) => {
      tunnel.bytesUp += chunk.length;
      tunnel.lastActivityAt = clock.now();
    });
    upstream.on('data', (chunk: Buffer) => {
      tunnel.bytesDown += chunk.length;
      tunnel.lastActivityAt = clock.now();
    });
    // pipe() applies backpressure both ways: a slow reader pauses the other side's socket.
    stream.pipe(upstream);
    upstream.pipe(stream);
    stream.on('error', () => upstream.destroy());
    upstream.on('error', () => {
      tunnel.closeReason ??= 'upstream_error';
      stream.destroy();
    });
    let closedSides = 0;
    const sideClosed = () => {
      if (++closedSides < 2) {
        // The other side gets a moment to flush, not forever.
        setTimeout(() => tunnel.close('peer_closed'), 5000).unref();
        return;
      }
      live.delete(tunnel);
      void record({
        type: 'tunnel.closed',
        outcome: 'success',
        actor,
        userId: session.userId,
        ip: opened.ip,
        detail: { ...facts, bytes_up: tunnel.bytesUp, bytes_down: tunnel.bytesDown, duration_ms: clock.now() - tunnel.openedAt, reason: tunnel.closeReason ?? 'closed' },
      });
    };
    ws.once('close', () => {
      tunnel.closeReason ??= 'client_closed';
      sideClosed();
    });
    upstream.once('close', () => {
      tunnel.closeReason ??= 'upstream_closed';
      sideClosed();
    });
  }

  const closeWhere = (reason: string, shouldClose: (tunnel: LiveTunnel) => boolean): number => {
    let closed = 0;
    for (const tunnel of [...live]) {
      if (shouldClose(tunnel)) {
        tunnel.close(reason);
        closed++;
      }
    }
    return closed;
  };

  // Idle streams and credentials past their end, checked every second (the clock is injected; the timer only paces).
  const sweep = setInterval(() => {
    const now = clock.now();
    closeWhere('idle_timeout', (tunnel) => now - tunnel.lastActivityAt >= tunnel.idleTimeoutMs);
    closeWhere('credential_expired', (tunnel) => now >= tunnel.endsAt);
  }, 1000);
  sweep.unref();

  const redecide = () => {
    const now = clock.now();
    return closeWhere('no_longer_allowed', (tunnel) => !policy.stillAllowed(tunnel.app, tunnel.identity, tunnel.ip, now));
  };

  return {
    handleUpgrade(req, socket, head) {
      const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
      if (host !== portalHost) return false;
      const match = TUNNEL_PATH.exec((req.url ?? '').split('?')[0] ?? '');
      if (!match) return false;
      open(req, socket, head, match[1]!).catch((error: unknown) => {
        logger.error({ err: error }, 'tunnel upgrade failed');
        socket.destroy();
      });
      return true;
    },
    applyChange(change) {
      const idHashes = new Set((change.payload.idHashes as string[] | undefined) ?? []);
      if (change.kind === 'session.revoked') closeWhere('session_revoked', (tunnel) => idHashes.has(tunnel.sessionHash));
      else if (change.kind === 'session.revoked_user' || change.kind === 'user.changed') closeWhere('user_changed', (tunnel) => tunnel.userId === String(change.payload.userId));
      else if (change.kind === 'session.revoked_all') closeWhere('sessions_revoked_all', () => true);
      else if (change.kind === CLI_CREDENTIAL_FEED.revoked) closeWhere('credential_revoked', (tunnel) => tunnel.credentialHash === String(change.payload.idHash));
    },
    redecide,
    reload(config) {
      policy = compileTcpTunnelPolicy(config, deps.isIpBlocked);
      portalHost = config.server.portal_host.toLowerCase();
      redecide();
    },
    get openTunnels() {
      return live.size;
    },
    close() {
      clearInterval(sweep);
      closeWhere('shutdown', () => true);
      server.close();
    },
  };
}
