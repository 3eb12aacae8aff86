import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { SessionView } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { isGatehouseError } from '../lib/errors.js';
import type { Random } from '../lib/random.js';
import { cookieValue, redirect, sendAccessPage } from './access-pages.js';
import type { AppSessions } from './app-sessions.js';
import { explainDecision, type AccessIdentity, type CompiledApp, type Decision, type PolicyEngine } from './policy/index.js';
import {
  forwardedHeadersOf,
  rejectSmuggling,
  rejectUpgrade,
  upstreamTargetOf,
  upstreamTargetRefusalOf,
  type AccessProxy,
  type IdentityAssertionIssuer,
  type TrustedProxies,
} from './proxy/index.js';

export const CALLBACK_PATH = '/.gatehouse/callback';

export interface AccessGatewayDeps {
  clock: Clock;
  random: Random;
  logger: Logger;
  audit: AuditLog;
  engine: () => PolicyEngine;
  proxy: AccessProxy;
  assertions: IdentityAssertionIssuer;
  appSessions: AppSessions;
  trustedProxies: () => TrustedProxies;
  settings: () => { portalUrl: string; organisation: string; cookieName: string; cookieMaxAgeSeconds: number };
  requests: Counter<'app' | 'outcome'>;
}

function identityOf(session: SessionView): AccessIdentity {
  return {
    userId: session.userId,
    email: session.email,
    groups: session.groups,
    amr: session.amr,
    ...(session.phishingResistantAt !== undefined ? { phishingResistantAt: session.phishingResistantAt } : {}),
  };
}

/**
 * The access proxy's front door for app hosts (issue 3): session -> policy -> proxy. Runs on node's
 * request path before fastify; reads only in-memory snapshots except on a session cache miss.
 */
export function createAccessGateway(deps: AccessGatewayDeps) {
  const requestId = () => deps.random.uuid().slice(0, 13);
  // Open WebSocket tunnels by portal session: a revoked session must not keep a live tunnel, so the
  // change feed's revocations close them (authorisation is otherwise checked only at the upgrade).
  const tunnels = new Map<Duplex, { sessionHash: string; userId: string }>();

  const page = (res: ServerResponse, status: number, id: string, title: string, message: string, action?: { href: string; label: string }) => {
    const { portalUrl, organisation } = deps.settings();
    sendAccessPage(res, status, { organisation, portalOrigin: new URL(portalUrl).origin, title, message, requestId: id, ...(action ? { action } : {}) });
  };

  const auditDeny = (app: string, decision: Decision, req: IncomingMessage, ip: string, session: SessionView | undefined, id: string) => {
    void deps.audit
      .record({
        type: 'access.denied',
        outcome: 'failure',
        code: decision.outcome === 'deny' ? (decision.reasons[0]?.split(':')[0] ?? 'denied') : decision.outcome,
        userId: session?.userId,
        ip,
        detail: { app, policy: decision.policy ?? null, reasons: decision.reasons, method: req.method, path: (req.url ?? '').split('?')[0], requestId: id },
      })
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'audit write failed'));
  };

  async function completeHandshake(req: IncomingMessage, res: ServerResponse, app: CompiledApp, url: URL, proto: string, id: string): Promise<void> {
    const settings = deps.settings();
    try {
      const { token } = await deps.appSessions.exchange(url.searchParams.get('code'), app.name);
      const target = url.searchParams.get('rd') ?? '/';
      // Only a path on this app host: the handshake must never become an open redirect.
      const safe = target.startsWith('/') && !target.startsWith('//') && !target.startsWith('/\\') ? target : '/';
      const secure = proto === 'https' ? '; Secure' : '';
      redirect(res, safe, `${settings.cookieName}=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${settings.cookieMaxAgeSeconds}${secure}`);
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      void deps.audit.record({ type: 'access.handshake', outcome: 'failure', code: error.code, detail: { app: app.name, reason: error.detail ?? '', requestId: id } }).catch(() => {});
      page(res, error.status, id, 'Sign-in link not valid', error.publicMessage, { href: `${proto}://${req.headers.host}/`, label: 'Open the app again' });
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse, app: CompiledApp): Promise<void> {
    const id = requestId();
    const smuggling = rejectSmuggling(req);
    if (smuggling) {
      deps.requests.inc({ app: app.name, outcome: 'bad_request' });
      deps.logger.warn({ app: app.name, reason: smuggling, requestId: id }, 'request refused: ambiguous framing');
      res.shouldKeepAlive = false;
      return page(res, 400, id, 'Bad request', 'This request could not be understood.');
    }
    // The policy judges the target the proxy will send (canonical origin-form; an absolute-form
    // target, RFC 9112 §3.2.2, was accepted above only when its authority is the Host), so no upstream
    // can route the request anywhere the policy did not look.
    const target = upstreamTargetOf(req.url ?? '/');
    if (target === null) {
      const reason = upstreamTargetRefusalOf(req.url ?? '/');
      deps.requests.inc({ app: app.name, outcome: 'bad_request' });
      deps.logger.warn({ app: app.name, reason, requestId: id }, 'request refused: path an upstream could route differently');
      return page(res, 400, id, 'Bad request', 'This request could not be understood.');
    }
    const forwarded = forwardedHeadersOf(req, deps.trustedProxies());
    const proto = forwarded.forwardedProto;
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    if (url.pathname === CALLBACK_PATH) return completeHandshake(req, res, app, url, proto, id);

    const session = await deps.appSessions.validate(cookieValue(req.headers.cookie, deps.settings().cookieName), app.name);
    const decision = app.decide({
      ip: forwarded.clientAddress,
      method: req.method ?? 'GET',
      path: target,
      now: deps.clock.now(),
      ...(session ? { identity: identityOf(session) } : {}),
    });
    deps.requests.inc({ app: app.name, outcome: decision.outcome });
    const appUrl = `${proto}://${req.headers.host}${target}`;
    const { portalUrl } = deps.settings();
    switch (decision.outcome) {
      case 'allow':
      case 'bypass': {
        let assertion: string | undefined;
        if (session) {
          const asserted = {
            sessionId: session.idHash,
            subject: session.userId,
            email: session.email,
            groups: session.groups,
            amr: session.amr,
            authTime: session.phishingResistantAt ?? session.createdAt,
          };
          assertion = deps.assertions.cachedAssertionFor(asserted, app.name) ?? (await deps.assertions.assertionFor(asserted, app.name));
        }
        deps.proxy.forward(req, res, app.name, { ...(assertion ? { assertion } : {}), requestId: id });
        return;
      }
      case 'sign_in':
        if (req.method === 'GET' || req.method === 'HEAD') {
          return redirect(res, `${portalUrl}/handshake?app=${encodeURIComponent(app.name)}&rd=${encodeURIComponent(appUrl)}`);
        }
        return page(res, 401, id, 'Sign in first', 'Your session for this app has ended. Open the app again to sign in.');
      case 'step_up':
        auditDeny(app.name, decision, req, forwarded.clientAddress, session, id);
        if (req.method === 'GET' || req.method === 'HEAD') {
          return redirect(res, `${portalUrl}/sign-in?step_up=1&return_to=${encodeURIComponent(appUrl)}`);
        }
        return page(res, 401, id, 'Touch your key again', explainDecision(decision));
      default:
        auditDeny(app.name, decision, req, forwarded.clientAddress, session, id);
        return page(res, 403, id, 'You cannot open this app', explainDecision(decision), session ? undefined : { href: `${portalUrl}/sign-in`, label: 'Sign in' });
    }
  }

  async function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, app: CompiledApp): Promise<void> {
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const malformed = rejectUpgrade(req);
    if (malformed) return refuse(400, 'Bad Request');
    const forwarded = forwardedHeadersOf(req, deps.trustedProxies());
    const session = await deps.appSessions.validate(cookieValue(req.headers.cookie, deps.settings().cookieName), app.name);
    const decision = app.decide({
      ip: forwarded.clientAddress,
      method: 'GET',
      path: req.url ?? '/',
      now: deps.clock.now(),
      ...(session ? { identity: identityOf(session) } : {}),
    });
    deps.requests.inc({ app: app.name, outcome: `websocket_${decision.outcome}` });
    if (!decision.allow) {
      auditDeny(app.name, decision, req, forwarded.clientAddress, session, requestId());
      return refuse(decision.outcome === 'deny' ? 403 : 401, decision.outcome === 'deny' ? 'Forbidden' : 'Unauthorized');
    }
    let assertion: string | undefined;
    if (session) {
      assertion = await deps.assertions.assertionFor(
        { sessionId: session.idHash, subject: session.userId, email: session.email, groups: session.groups, amr: session.amr, authTime: session.phishingResistantAt ?? session.createdAt },
        app.name,
      );
    }
    if (session) {
      tunnels.set(socket, { sessionHash: session.idHash, userId: session.userId });
      socket.once('close', () => tunnels.delete(socket));
    }
    deps.proxy.upgrade(req, socket, head, app.name, assertion ? { assertion } : {});
  }

  /** Closes the tunnels of revoked sessions (called for every change-feed revocation). */
  function closeTunnels(match: { sessionHashes?: readonly string[]; userId?: string; all?: boolean }): number {
    let closed = 0;
    for (const [socket, owner] of tunnels) {
      if (match.all || owner.userId === match.userId || match.sessionHashes?.includes(owner.sessionHash)) {
        socket.destroy();
        tunnels.delete(socket);
        closed++;
      }
    }
    return closed;
  }

  return {
    closeTunnels,
    get openTunnels() {
      return tunnels.size;
    },
    /** Serves the request when its Host is an app's; returns false to let the portal handle it. */
    handle(req: IncomingMessage, res: ServerResponse): boolean {
      const app = req.headers.host ? deps.engine().appForHost(req.headers.host) : undefined;
      if (!app) return false;
      serve(req, res, app).catch((error: unknown) => {
        deps.logger.error({ err: error, app: app.name }, 'access gateway failed');
        if (!res.headersSent) page(res, 500, requestId(), 'Something went wrong', 'Access could not be checked. Try again in a moment.');
        else res.destroy();
      });
      return true;
    },
    handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      const app = req.headers.host ? deps.engine().appForHost(req.headers.host) : undefined;
      if (!app) return false;
      tunnel(req, socket, head, app).catch((error: unknown) => {
        deps.logger.error({ err: error, app: app.name }, 'websocket gateway failed');
        socket.destroy();
      });
      return true;
    },
  };
}

export type AccessGateway = ReturnType<typeof createAccessGateway>;
