/**
 * The access gateway: every request and WebSocket upgrade to an app host, from the framing checks to
 * `proxy.forward`. Longer than most files because the order of its steps is the security argument
 * (framing, target, the one forwarded-header parse, a service token before any cookie, handshake,
 * session, policy, assertion) and it reads best in one place, for people's sessions and machines'
 * tokens, over HTTP and WebSocket alike; the token checks themselves live in service-token-gate.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { AuditLog } from '../audit/index.js';
import type { SessionView } from '../identity/index.js';
import type { Clock } from '../lib/clock.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { randomToken, type Random } from '../lib/random.js';
import { returnPathRefusalOf } from '../lib/return-path-refusal.js';
import { constantTimeEqual, hashSecret } from '../lib/secret-hash.js';
import { cookieValue, redirect, sendAccessPage, type AccessPageOptions } from './access-pages.js';
import { deniedPage } from './denied-page.js';
import { appCookie, appCookieNamesOf, type AppCookieNames } from './app-cookie-names.js';
import { appOriginOf } from './app-origin.js';
import { HANDSHAKE_FAILED, type AppSessions } from './app-sessions.js';
import { explainDecision, identityOfSession, type AccessRequest, type CompiledApp, type Decision, type PolicyEngine } from './policy/index.js';
import { SERVICE_TOKEN_PUBLIC_MESSAGE } from '../credentials/index.js';
import { createServiceTokenGate, sendServiceTokenRefusalJson, SERVICE_TOKEN_ADMITTED, SERVICE_TOKEN_REFUSED, wantsHtml, type ServiceTokenCheck, type ServiceTokenPresented } from './service-token-gate.js';
import {
  type ForwardedHeaders,
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

/** A handshake state cookie outlives the portal round trip (sign-in with a key touch), not much more. */
const HANDSHAKE_STATE_MAX_AGE_SECONDS = 600;
const HANDSHAKE_STATE = /^[A-Za-z0-9_-]{43}$/;

/** What an open tunnel was allowed on, kept so it can be judged again (reload) and timed out. */
interface OpenTunnel {
  /** Empty for a tunnel opened with a service token. */
  sessionHash: string;
  userId: string;
  /** The service token's client id for a machine's tunnel; undefined for a person's. */
  serviceTokenClientId?: string | undefined;
  /** When a machine's tunnel was opened: a change to its token written before then does not concern it. */
  openedAt?: number | undefined;
  app: string;
  /** The portal session's absolute deadline (or the token's expiry): a tunnel must not outlive the credential that opened it. */
  endsAt: number;
  request: Omit<AccessRequest, 'now'>;
}

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
  settings: () => { portalUrl: string; organisation: string; cookieName: string; cookieMaxAgeSeconds: number; sessionAbsoluteMs: number; accessRequestUrl?: string | undefined };
  requests: Counter<'app' | 'outcome'>;
  /** The service-token verifier and use recorder; absent, every token presentation is refused. */
  serviceTokens?: (() => ServiceTokenCheck | undefined) | undefined;
}

/**
 * The access proxy's front door for app hosts: session -> policy -> proxy. Runs on node's
 * request path before fastify; reads only in-memory snapshots except on a session cache miss.
 */
export function createAccessGateway(deps: AccessGatewayDeps) {
  const requestId = () => deps.random.uuid().slice(0, 13);
  // Open WebSocket tunnels by portal session: a revoked session must not keep a live tunnel, so the
  // change feed's revocations close them (authorisation is otherwise checked only at the upgrade).
  const tunnels = new Map<Duplex, OpenTunnel>();
  const tokenGate = createServiceTokenGate({ tokens: deps.serviceTokens ?? (() => undefined), audit: deps.audit, logger: deps.logger, clock: deps.clock });

  // Scheme, host and port of an app come from config only (see app-origin); memoised per snapshot.
  let origins = { portalUrl: '', byHost: new Map<string, string>() };
  const originOf = (app: CompiledApp): string => {
    const { portalUrl } = deps.settings();
    if (origins.portalUrl !== portalUrl) origins = { portalUrl, byHost: new Map() };
    let origin = origins.byHost.get(app.host);
    if (origin === undefined) {
      origin = appOriginOf(portalUrl, app.host);
      origins.byHost.set(app.host, origin);
    }
    return origin;
  };
  const cookieNamesOf = (app: CompiledApp): AppCookieNames => appCookieNamesOf(originOf(app), deps.settings().cookieName);

  const page = (
    res: ServerResponse,
    status: number,
    id: string,
    title: string,
    message: string,
    action?: { href: string; label: string },
    more: Pick<AccessPageOptions, 'actions' | 'signedInAs' | 'next'> = {},
  ) => {
    const { portalUrl, organisation } = deps.settings();
    sendAccessPage(res, status, { organisation, portalOrigin: new URL(portalUrl).origin, title, message, requestId: id, ...(action ? { action } : {}), ...more });
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

  const handshakeRefusal = (code: string, detail: string) => new GatehouseError(code, { status: 400, publicMessage: HANDSHAKE_FAILED, detail });

  /**
   * The app end of the handshake. Checked in this order, each with its own code:
   * the return path stays on this host (`handshake_return_invalid`, no open redirect); the browser
   * holds the state cookie this host set when it sent it to the portal (`handshake_state_mismatch`:
   * a callback planted in another browser, login CSRF); the code is unused, fresh, for this app and
   * issued for that state (`handshake_code_invalid`).
   */
  async function completeHandshake(req: IncomingMessage, res: ServerResponse, app: CompiledApp, url: URL, id: string): Promise<void> {
    const settings = deps.settings();
    const names = cookieNamesOf(app);
    const origin = originOf(app);
    try {
      const returnPath = url.searchParams.get('rd') ?? '/';
      const refusal = returnPathRefusalOf(returnPath);
      if (refusal) throw handshakeRefusal('handshake_return_invalid', refusal);
      const binding = url.searchParams.get('state') ?? '';
      const state = cookieValue(req.headers.cookie, names.handshakeState) ?? '';
      // RFC 6749 §10.12: the callback must come back to the user agent that started the flow.
      if (!HANDSHAKE_STATE.test(state) || !constantTimeEqual(hashSecret(state), binding)) {
        throw handshakeRefusal('handshake_state_mismatch', state ? 'state cookie does not match the callback' : 'no state cookie on this browser');
      }
      const { token } = await deps.appSessions.exchange(url.searchParams.get('code'), app.name, binding);
      redirect(res, returnPath, [
        appCookie(names.session, token, settings.cookieMaxAgeSeconds, names.secure),
        appCookie(names.handshakeState, '', 0, names.secure),
      ]);
    } catch (error) {
      if (!isGatehouseError(error)) throw error;
      void deps.audit.record({ type: 'access.handshake', outcome: 'failure', code: error.code, detail: { app: app.name, reason: error.detail ?? '', requestId: id } }).catch(() => {});
      page(res, error.status, id, 'Sign-in link not valid', error.publicMessage, { href: `${origin}/`, label: 'Open the app again' });
    }
  }

  /** Sends the browser to the portal with a fresh (or its pending) handshake state cookie on this host. */
  function startHandshake(req: IncomingMessage, res: ServerResponse, app: CompiledApp, target: string): void {
    const names = cookieNamesOf(app);
    const pending = cookieValue(req.headers.cookie, names.handshakeState);
    // Reusing a pending state lets two tabs sign in to the same app at once; it is single-browser anyway.
    const state = pending && HANDSHAKE_STATE.test(pending) ? pending : randomToken(deps.random, 32);
    const query = new URLSearchParams({ app: app.name, rd: `${originOf(app)}${target}`, state: hashSecret(state) });
    redirect(res, `${deps.settings().portalUrl}/handshake?${query.toString()}`, appCookie(names.handshakeState, state, HANDSHAKE_STATE_MAX_AGE_SECONDS, names.secure));
  }

  /**
   * A machine's request: judged by its token alone, never by a cookie it may also carry, and never sent
   * to a sign-in page. Every refusal, from the verifier or from the policy, gets the same answer; the
   * cause goes to the audit log.
   */
  async function serveServiceToken(req: IncomingMessage, res: ServerResponse, app: CompiledApp, target: string, forwarded: ForwardedHeaders, presented: ServiceTokenPresented, id: string): Promise<void> {
    const token = tokenGate.admit(presented, app, { ip: forwarded.clientAddress, method: req.method ?? 'GET', path: target, now: deps.clock.now() }, req, id);
    deps.requests.inc({ app: app.name, outcome: token ? SERVICE_TOKEN_ADMITTED : SERVICE_TOKEN_REFUSED });
    if (token === undefined) return wantsHtml(req) ? page(res, 403, id, 'Access refused', SERVICE_TOKEN_PUBLIC_MESSAGE) : sendServiceTokenRefusalJson(res, id);
    const assertion = deps.assertions.cachedServiceTokenAssertionFor(token, app.name) ?? (await deps.assertions.serviceTokenAssertionFor(token, app.name));
    deps.proxy.forward(req, res, app.name, { assertion, requestId: id, clientAddress: forwarded.clientAddress, forwarded });
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
    // The one parse of this request's forwarded headers, under the one live trusted-proxy list: the
    // policy judges this client address and the proxy sends these X-Forwarded-* values upstream.
    const forwarded = forwardedHeadersOf(req, deps.trustedProxies());
    // Before anything a browser would get (handshake, session, sign-in redirect).
    const presented = tokenGate.take(req.headers);
    if (presented !== undefined) return serveServiceToken(req, res, app, target, forwarded, presented, id);
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    if (url.pathname === CALLBACK_PATH) return completeHandshake(req, res, app, url, id);

    const session = await deps.appSessions.validate(cookieValue(req.headers.cookie, cookieNamesOf(app).session), app.name);
    const decision = app.decide({
      ip: forwarded.clientAddress,
      method: req.method ?? 'GET',
      path: target,
      now: deps.clock.now(),
      ...(session ? { identity: identityOfSession(session) } : {}),
    });
    deps.requests.inc({ app: app.name, outcome: decision.outcome });
    const appUrl = `${originOf(app)}${target}`;
    const { portalUrl } = deps.settings();
    switch (decision.outcome) {
      case 'allow':
      case 'bypass': {
        deps.proxy.forward(req, res, app.name, await forwardOptionsFor(session, app.name, id, forwarded));
        return;
      }
      case 'sign_in':
        if (req.method === 'GET' || req.method === 'HEAD') {
          return startHandshake(req, res, app, target);
        }
        return page(res, 401, id, 'Sign in first', 'Your session for this app has ended. Open the app again to sign in.');
      case 'step_up':
        auditDeny(app.name, decision, req, forwarded.clientAddress, session, id);
        if (req.method === 'GET' || req.method === 'HEAD') {
          return redirect(res, `${portalUrl}/sign-in?step_up=1&return_to=${encodeURIComponent(appUrl)}`);
        }
        return page(res, 401, id, 'Touch your key again', explainDecision(decision), { href: appUrl, label: `Open ${app.name} again` }, session ? { signedInAs: session.email } : {});
      default: {
        auditDeny(app.name, decision, req, forwarded.clientAddress, session, id);
        const denied = deniedPage({ app: app.name, appUrl, portalUrl, email: session?.email, accessRequestUrl: deps.settings().accessRequestUrl, decision });
        return page(res, 403, id, denied.title, denied.message, undefined, denied);
      }
    }
  }

  /**
   * A WebSocket upgrade. Refusals are bare HTTP answers with the stable code in the body and no
   * Set-Cookie; nothing from the request (its cookies in particular) is echoed.
   */
  async function tunnel(req: IncomingMessage, socket: Duplex, head: Buffer, app: CompiledApp): Promise<void> {
    const refuse = (status: 400 | 401 | 403, code: string) => {
      const reason = status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nCache-Control: no-store\r\nContent-Length: ${code.length}\r\n\r\n${code}`);
    };
    const malformed = rejectUpgrade(req);
    if (malformed) return refuse(400, malformed);
    const id = requestId();
    const forwarded = forwardedHeadersOf(req, deps.trustedProxies());
    // Cross-site WebSocket hijacking: the browser attaches the app cookie to an upgrade any page
    // starts, and SameSite does not help when the page is on a sibling app of the same site. Browsers
    // always send Origin on a WebSocket handshake (RFC 6455 §4.1 item 8, §10.2), so a browser page
    // from elsewhere is refused here; a client without Origin is not a browser and holds its own cookie.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== originOf(app)) {
      deps.requests.inc({ app: app.name, outcome: 'websocket_origin_refused' });
      void deps.audit
        .record({ type: 'access.denied', outcome: 'failure', code: 'websocket_origin_refused', ip: forwarded.clientAddress, detail: { app: app.name, origin: origin.slice(0, 200), requestId: id } })
        .catch((error: unknown) => deps.logger.warn({ err: error }, 'audit write failed'));
      return refuse(403, 'websocket_origin_refused');
    }
    const presented = tokenGate.take(req.headers);
    if (presented !== undefined) return tunnelWithServiceToken(req, socket, head, app, forwarded, presented, id, refuse);
    const session = await deps.appSessions.validate(cookieValue(req.headers.cookie, cookieNamesOf(app).session), app.name);
    const request = {
      ip: forwarded.clientAddress,
      method: 'GET',
      path: req.url ?? '/',
      ...(session ? { identity: identityOfSession(session) } : {}),
    };
    const decision = app.decide({ ...request, now: deps.clock.now() });
    deps.requests.inc({ app: app.name, outcome: `websocket_${decision.outcome}` });
    if (!decision.allow) {
      auditDeny(app.name, decision, req, forwarded.clientAddress, session, id);
      return decision.outcome === 'deny' ? refuse(403, 'websocket_denied') : refuse(401, 'websocket_sign_in_required');
    }
    const options = await forwardOptionsFor(session, app.name, id, forwarded);
    if (session) {
      tunnels.set(socket, { sessionHash: session.idHash, userId: session.userId, app: app.name, endsAt: session.createdAt + deps.settings().sessionAbsoluteMs, request });
      socket.once('close', () => tunnels.delete(socket));
    }
    deps.proxy.upgrade(req, socket, head, app.name, options);
  }

  /**
   * What the proxy passes on for a person's request or upgrade: the signed identity for the app (none
   * on a bypass without a session) and who is signed in, for the proxy's own error pages.
   */
  async function forwardOptionsFor(session: SessionView | undefined, appName: string, requestId: string, forwarded: ForwardedHeaders) {
    const base = { requestId, clientAddress: forwarded.clientAddress, forwarded };
    if (!session) return base;
    const asserted = {
      sessionId: session.idHash,
      subject: session.userId,
      email: session.email,
      name: session.name,
      groups: session.groups,
      amr: session.amr,
      authTime: session.phishingResistantAt ?? session.createdAt,
    };
    const assertion = deps.assertions.cachedAssertionFor(asserted, appName) ?? (await deps.assertions.assertionFor(asserted, appName));
    return { ...base, assertion, signedInAs: session.email };
  }

  /** A machine's WebSocket upgrade: as serveServiceToken, and the tunnel closes when the token changes. */
  async function tunnelWithServiceToken(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    app: CompiledApp,
    forwarded: ForwardedHeaders,
    presented: ServiceTokenPresented,
    id: string,
    refuse: (status: 403, code: string) => void,
  ): Promise<void> {
    const now = deps.clock.now();
    const judged = { ip: forwarded.clientAddress, method: 'GET', path: req.url ?? '/' };
    const token = tokenGate.admit(presented, app, { ...judged, now }, req, id);
    deps.requests.inc({ app: app.name, outcome: `websocket_${token ? SERVICE_TOKEN_ADMITTED : SERVICE_TOKEN_REFUSED}` });
    if (token === undefined) return refuse(403, SERVICE_TOKEN_REFUSED);
    const request = { ...judged, serviceToken: { name: token.name, tags: token.tags } };
    const assertion = await deps.assertions.serviceTokenAssertionFor(token, app.name);
    tunnels.set(socket, { sessionHash: '', userId: '', serviceTokenClientId: token.clientId, openedAt: now, app: app.name, endsAt: token.expiresAt, request });
    socket.once('close', () => tunnels.delete(socket));
    deps.proxy.upgrade(req, socket, head, app.name, { assertion, requestId: id, clientAddress: forwarded.clientAddress, forwarded });
  }

  /** Closes the tunnels of revoked sessions (called for every change-feed revocation). */
  function closeTunnels(match: { sessionHashes?: readonly string[]; userId?: string; all?: boolean }): number {
    // A Set, not includes(): a revocation row may carry thousands of hashes, tested once per open tunnel.
    const hashes = new Set(match.sessionHashes);
    return closeTunnelsWhere((owner) => owner.serviceTokenClientId === undefined && Boolean(match.all || owner.userId === match.userId || hashes.has(owner.sessionHash)));
  }

  /**
   * Closes a service token's tunnels when the token changes (rotation, suspension, revocation): the
   * tunnel was authorised with a secret that may no longer be valid, and only the client can present
   * the current one, by reconnecting. A token no longer active closes them whatever the row's time; any
   * other change only if written after the tunnel opened (the feed row of the token's creation, or of a
   * change this instance applied before the upgrade, may arrive after it).
   */
  function closeServiceTokenTunnels(clientId: string, change: { at: number; active: boolean }): number {
    return closeTunnelsWhere((owner) => owner.serviceTokenClientId === clientId && (!change.active || change.at >= (owner.openedAt ?? 0)));
  }

  function closeTunnelsWhere(shouldClose: (owner: OpenTunnel) => boolean): number {
    let closed = 0;
    for (const [socket, owner] of tunnels) {
      if (shouldClose(owner)) {
        socket.destroy();
        tunnels.delete(socket);
        closed++;
      }
    }
    return closed;
  }

  /** Closes tunnels whose portal session passed its absolute timeout (called on a timer). */
  function closeExpiredTunnels(): number {
    const now = deps.clock.now();
    return closeTunnelsWhere((owner) => now >= owner.endsAt);
  }

  /**
   * After a config reload: judges every open tunnel again under the new snapshot, as its upgrade was
   * judged, and closes those no longer allowed (a removed app, a narrowed policy). Authorisation is
   * otherwise checked only at the upgrade, so without this a tunnel would outlive the policy.
   */
  function redecideTunnels(): number {
    const engine = deps.engine();
    const now = deps.clock.now();
    return closeTunnelsWhere((owner) => {
      const app = engine.app(owner.app);
      return !app || !app.decide({ ...owner.request, now }).allow;
    });
  }

  return {
    closeTunnels,
    closeServiceTokenTunnels,
    closeExpiredTunnels,
    redecideTunnels,
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
