import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { IdentityService, RequestContext, SessionView } from '../identity/index.js';
import type { CampaignTaskDeps } from './campaign-task-routes.js';
import type { CliLoginDeps } from './cli-login-routes.js';
import type { ReportIntakeRouteDeps } from './report-intake-routes.js';
import type { ReportPortalDeps } from './report-routes.js';
import type { PortalMetrics } from './portal-metrics.js';
import type { RateLimiter } from '../lib/rate-limiter.js';

/** What the portal reads from the current config snapshot (re-read on every request: hot reload). */
export interface PortalSettings {
  organisation: string;
  publicUrl: string;
  /** Origins a state-changing request may come from (the portal's own). */
  allowedOrigins: readonly string[];
  cookieName: string;
  absoluteMs: number;
  legacyPassword: boolean;
  signInRatePerMinute: number;
  /** `ssh.certificate_requests_per_minute`: per client address, on POST /cli/ssh/certificate. */
  certificateRequestsPerMinute: number;
}

export interface PortalDeps {
  identity: IdentityService;
  clock: Clock;
  random: Random;
  metrics: PortalMetrics;
  rateLimiter: RateLimiter;
  settings: () => PortalSettings;
  /** Whether an absolute `return_to` URL may be followed (configured app hosts). */
  isAllowedReturnTo: (url: URL) => boolean;
  /** The app handshake (access proxy); absent when no app is configured. */
  handshake?: {
    /** The app's configured origin (scheme, host, port from config), or undefined for an unknown app. */
    appOrigin(appName: string): string | undefined;
    /** A one-time code for the app, bound to the session and to the handshake state `binding`. */
    issueCode(session: SessionView, appName: string, binding: string): Promise<string>;
  };
  /** Builds the request context (client address from the trusted proxy chain). */
  requestContext: (request: FastifyRequest) => RequestContext;
  /** Rotation campaigns' owner-task and approval pages; absent: those routes are not served. */
  campaignTasks?: CampaignTaskDeps;
  /** `gatehouse login` (loopback redirect + PKCE) and the command line's SSH certificates; absent: not served. */
  cliLogin?: CliLoginDeps;
  /** "Report something suspicious" (`/report`); absent: not served. */
  reports?: ReportPortalDeps;
  /** The gateway webhook (`POST /api/reports/intake`); absent: not served. */
  reportIntake?: ReportIntakeRouteDeps;
}

export interface PortalRequestState {
  session: SessionView | undefined;
}

export function isTls(request: FastifyRequest): boolean {
  return request.isHttps;
}

export function sessionCookieOptions(request: FastifyRequest, settings: PortalSettings) {
  // Host-only (no Domain attribute): an app host or a sibling subdomain never receives the portal cookie.
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: isTls(request) || settings.publicUrl.startsWith('https:'),
    maxAge: Math.floor(settings.absoluteMs / 1000),
  };
}

/** Same attributes as when set: a `__Host-` cookie is only replaced (cleared) by a Set-Cookie with Secure. */
export function clearSessionCookie(request: FastifyRequest, reply: FastifyReply, settings: PortalSettings): void {
  reply.clearCookie(settings.cookieName, sessionCookieOptions(request, settings));
}

export function setSessionCookie(request: FastifyRequest, reply: FastifyReply, settings: PortalSettings, token: string): void {
  reply.setCookie(settings.cookieName, token, sessionCookieOptions(request, settings));
}
