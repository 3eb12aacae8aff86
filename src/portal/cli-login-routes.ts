import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CliLogin, SessionView } from '../identity/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { cliConsentPage } from './cli-login-pages.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { currentSession } from './current-session.js';
import { isTls, type PortalDeps } from './portal-deps.js';
import { PORTAL_CSP } from './security-headers.js';


/** What the command line's SSH endpoint issues (src/ssh's IssuedSshCertificate, as the portal needs it). */
export interface CliSshCertificate {
  certificate: string;
  principals: string[];
  keyId: string;
  serial: string;
  validAfter: number;
  validBefore: number;
}

export interface CliLoginDeps {
  login: CliLogin;
  /** The `ssh` apps' policy and the CA; absent, `/cli/ssh/certificate` is not served. */
  ssh?: {
    issue(request: { session: SessionView; app: string; publicKey: string; ip: string }): Promise<CliSshCertificate>;
    mappedGroups(): readonly string[];
    certAuthorityLines(hostPattern: string): Promise<string>;
  };
}

/**
 * A key proof older than this sends the browser through a key touch before the consent page: the
 * credential starts with a fresh proof, so an `ssh` app's auth_age counts from `gatehouse login`.
 */
const FRESH_PROOF_MS = 5 * 60_000;

/** The consent page's form-action must also allow the loopback redirect its POST answers with (CSP 3 §6.3.1: redirects are checked too). */
function consentCsp(redirectUri: string): string {
  return PORTAL_CSP.replace("form-action 'self'", `form-action 'self' ${new URL(redirectUri).origin}`);
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([\x21-\x7e]{1,200})$/.exec(header);
  return match?.[1];
}

/** JSON refusals for the command line: its public message and stable code (never the detail). */
function sendRefusal(reply: FastifyReply, error: unknown, extra: Record<string, unknown> = {}): FastifyReply {
  if (!isGatehouseError(error)) throw error;
  const reason = 'reason' in error && typeof error.reason === 'string' ? { reason: error.reason } : {};
  // RFC 6749 §5.2 names the error of a token request; the code is Gatehouse's own.
  const oauth = error.code === 'cli_login_invalid_grant' ? { error: 'invalid_grant' } : {};
  return reply.code(error.status).header('cache-control', 'no-store').send({ code: error.code, message: error.publicMessage, ...oauth, ...reason, ...extra });
}

/**
 * `gatehouse login` on the portal (RFC 8252 loopback redirect, RFC 7636 PKCE) and the endpoints the
 * command line calls with its credential. The threat model is on `CliLogin` (src/identity/cli-login).
 */
export function registerCliLoginRoutes(app: FastifyInstance, deps: PortalDeps, cli: CliLoginDeps): void {
  const auditAuthorizeRefusal = async (request: FastifyRequest, error: unknown) => {
    if (!isGatehouseError(error)) return;
    await cli.login.auditAuthorizeRefusal(error, deps.requestContext(request).ip);
  };

  const consentCsps = new WeakMap<FastifyRequest, string>();
  const withConsentCsp = {
    // Route onSend hooks run after the portal's own (which set PORTAL_CSP): this one widens form-action.
    onSend: async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const csp = consentCsps.get(request);
      if (csp) reply.header('content-security-policy', csp);
      return payload;
    },
  };

  app.get('/cli/authorize', withConsentCsp, async (request, reply) => {
    let authorize;
    try {
      authorize = cli.login.checkAuthorizeRequest(request.query as Record<string, unknown>);
    } catch (error) {
      await auditAuthorizeRefusal(request, error);
      throw error;
    }
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(request.url)}`, 303);
    const provedAt = session.phishingResistantAt;
    if (provedAt !== undefined && deps.clock.now() - provedAt > FRESH_PROOF_MS) {
      return reply.redirect(`/sign-in?step_up=1&return_to=${encodeURIComponent(request.url)}`, 303);
    }
    const csrfToken = csrfTokenFor(request, reply, deps.random, isTls(request));
    const page = cliConsentPage({ organisation: deps.settings().organisation, csrfToken }, { email: session.email, request: authorize });
    consentCsps.set(request, consentCsp(authorize.redirectUri));
    return reply.type('text/html; charset=utf-8').send(page);
  });

  app.post('/cli/authorize', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    let authorize;
    try {
      authorize = cli.login.checkAuthorizeRequest(body);
    } catch (error) {
      await auditAuthorizeRefusal(request, error);
      throw error;
    }
    checkCsrf(request, deps.settings().allowedOrigins);
    const session = await currentSession(deps, request);
    if (!session) throw new GatehouseError('session_required', { status: 401, publicMessage: 'Your session has ended. Sign in again.' });
    const code = await cli.login.issueCode(session, authorize, deps.requestContext(request).ip);
    const target = new URL(authorize.redirectUri);
    target.searchParams.set('code', code);
    target.searchParams.set('state', authorize.state);
    return reply.header('referrer-policy', 'no-referrer').redirect(target.toString(), 303);
  });

  // A public client (RFC 8252 §8.4): no cookie, no secret; the PKCE verifier is the proof.
  app.post('/cli/token', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const { ip } = deps.requestContext(request);
    try {
      if (!deps.rateLimiter.take(`cli-token:${ip}`, deps.settings().signInRatePerMinute)) {
        throw new GatehouseError('rate_limited', { status: 429, publicMessage: 'Too many attempts. Wait a minute and try again.', detail: `cli token rate limit for ${ip}` });
      }
      if (body.grant_type !== 'authorization_code') throw new GatehouseError('cli_login_invalid_grant', { status: 400, publicMessage: 'grant_type must be authorization_code.', detail: 'unsupported grant_type' });
      const grant = await cli.login.redeemCode({ code: body.code, codeVerifier: body.code_verifier, redirectUri: body.redirect_uri }, ip);
      return reply.header('cache-control', 'no-store').send({ credential: grant.credential, expires_at: grant.expiresAt, email: grant.email });
    } catch (error) {
      return sendRefusal(reply, error);
    }
  });

  app.post('/cli/logout', async (request, reply) => {
    try {
      await cli.login.revokeCredential(bearerOf(request), deps.requestContext(request).ip);
      return reply.header('cache-control', 'no-store').send({ revoked: true });
    } catch (error) {
      return sendRefusal(reply, error);
    }
  });

  const ssh = cli.ssh;
  if (!ssh) return;
  app.post('/cli/ssh/certificate', async (request, reply) => {
    const { ip } = deps.requestContext(request);
    try {
      // Generous for people and scripts running ssh in a loop; a flood of guessed or stolen-and-revoked
      // credentials from one address stops here, before a database read and an audit event each.
      if (!deps.rateLimiter.take(`cli-ssh:${ip}`, deps.settings().certificateRequestsPerMinute)) {
        throw new GatehouseError('rate_limited', { status: 429, publicMessage: 'Too many certificate requests. Wait a minute and try again.', detail: `ssh certificate rate limit for ${ip}` });
      }
      const { session } = await cli.login.validateCredential(bearerOf(request), ip);
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (typeof body.app !== 'string' || body.app.length > 64 || typeof body.public_key !== 'string' || body.public_key.length > 16_384) {
        throw new GatehouseError('ssh_bad_request', { status: 400, publicMessage: 'Send { app, public_key }.', detail: 'malformed certificate request' });
      }
      const issued = await ssh.issue({ session, app: body.app, publicKey: body.public_key, ip });
      return reply.header('cache-control', 'no-store').send({
        certificate: issued.certificate,
        principals: issued.principals,
        key_id: issued.keyId,
        serial: issued.serial,
        valid_after: issued.validAfter,
        valid_before: issued.validBefore,
      });
    } catch (error) {
      // The person needs to know which groups would give them a login; nothing else of the config.
      const extra = isGatehouseError(error) && error.code === 'ssh_no_principal' ? { mapped_groups: ssh.mappedGroups() } : {};
      return sendRefusal(reply, error, extra);
    }
  });

  // Public keys only, but behind the credential like every /cli endpoint: `gatehouse ssh config`.
  app.get('/cli/ssh/known-hosts', async (request, reply) => {
    const { ip } = deps.requestContext(request);
    try {
      await cli.login.validateCredential(bearerOf(request), ip);
      const pattern = (request.query as Record<string, unknown>).host_pattern;
      if (typeof pattern !== 'string' || pattern.length > 512) throw new GatehouseError('ssh_bad_request', { status: 400, publicMessage: 'Send host_pattern.', detail: 'missing host_pattern' });
      let lines: string;
      try {
        lines = await ssh.certAuthorityLines(pattern);
      } catch (error) {
        if (isGatehouseError(error) && error.code === 'usage') throw new GatehouseError('ssh_bad_request', { status: 400, publicMessage: 'host_pattern is not a known_hosts pattern.', detail: error.message });
        throw error;
      }
      return reply.header('cache-control', 'no-store').send({ known_hosts: lines });
    } catch (error) {
      return sendRefusal(reply, error);
    }
  });
}
