import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit/index.js';
import { CAMPAIGN_ERRORS, type Campaigns } from '../credentials/index.js';
import { keyProofRefusal, type SessionView } from '../identity/index.js';
import { GatehouseError, isGatehouseError } from '../lib/errors.js';
import { approvalsPage, ownerTaskPage } from './campaign-task-pages.js';
import { checkCsrf, csrfTokenFor } from './csrf.js';
import { currentSession } from './current-session.js';
import { messagePage } from './pages.js';
import { isTls, type PortalDeps } from './portal-deps.js';

/** What the owner-task and approval pages need besides the portal's own dependencies. */
export interface CampaignTaskDeps {
  campaigns: Pick<Campaigns, 'ownerTaskByLink' | 'attestAsOwner' | 'approve' | 'awaitingApproval'>;
  audit: Pick<AuditLog, 'record'>;
  /** The admin API's gate (`identity.admin_groups`, a key proof; a recent one for `write`), which audits its refusals. */
  requireAdmin(request: FastifyRequest, access: 'read' | 'write'): Promise<SessionView>;
  /** How recent the owner's key proof must be (`identity.key_change_window_minutes`). */
  ownerProofWindowMs(): number;
}

const TOKEN = /^[A-Za-z0-9_-]{43}$/;
const CAMPAIGN_ID = /^[A-Za-z0-9-]{1,64}$/;
/** One answer for an unknown link, a used one and someone else's: a leaked link tells its finder nothing. */
const LINK_REFUSED = 'This link cannot be used. It may have been used already, or it was sent to someone else.';
const PUBLIC_MESSAGES: Record<string, string> = {
  [CAMPAIGN_ERRORS.taskLinkInvalid]: LINK_REFUSED,
  [CAMPAIGN_ERRORS.notOwner]: LINK_REFUSED,
  [CAMPAIGN_ERRORS.beliefIsNotEvidence]: 'This credential is believed unused: it closes only when it is revoked and the revocation is checked. Ask your security team.',
  [CAMPAIGN_ERRORS.sameAttester]: 'You have attested this task already, or you own it: a different person must approve it.',
  [CAMPAIGN_ERRORS.notAttestable]: 'This task is no longer open.',
  [CAMPAIGN_ERRORS.invalidInput]: 'Say what was done and how it was checked (at most 1000 characters).',
};

/** Leaked links: no Referer leaves the page and nothing keeps a copy of it. */
function noLeaks(reply: FastifyReply): void {
  reply.header('referrer-policy', 'no-referrer');
  reply.header('cache-control', 'no-store');
}

/**
 * The owner's one-time link (`/campaigns/tasks/<token>`) and the admins' approval page. Every refusal
 * shows one generic message and puts its code in the audit log (never the token: routes are logged
 * by their pattern, and request logs redact token-like path segments).
 */
export function registerCampaignTaskRoutes(app: FastifyInstance, deps: PortalDeps, tasks: CampaignTaskDeps): void {
  const page = (request: FastifyRequest, reply: FastifyReply) => ({ organisation: deps.settings().organisation, csrfToken: csrfTokenFor(request, reply, deps.random, isTls(request)) });

  async function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown, session: SessionView | undefined, type: string): Promise<FastifyReply> {
    if (!isGatehouseError(error)) throw error;
    await tasks.audit.record({ type, outcome: 'failure', code: error.code, userId: session?.userId, ip: deps.requestContext(request).ip, detail: { reason: error.detail, route: `${request.method} ${request.routeOptions.url ?? ''}` } });
    const message = PUBLIC_MESSAGES[error.code] ?? error.publicMessage;
    const status = error.code === CAMPAIGN_ERRORS.notOwner ? 404 : error.status;
    return reply.code(status).type('text/html; charset=utf-8').send(
      messagePage(page(request, reply), { title: 'This did not work', message, requestId: request.id, action: { href: '/account', label: 'Go to your account' }, ...(session ? { signedInAs: session.email } : {}) }),
    );
  }

  /** A signed-in session with a recent key proof, or the reply that gets one (sign in, step up, refusal). */
  async function owner(request: FastifyRequest, reply: FastifyReply, path: string): Promise<SessionView | FastifyReply> {
    const session = await currentSession(deps, request);
    if (!session) return reply.redirect(`/sign-in?return_to=${encodeURIComponent(path)}`, 303);
    const refusal = keyProofRefusal(session, deps.clock.now(), tasks.ownerProofWindowMs(), 'answering an owner task');
    if (refusal?.code === 'step_up_required') return reply.redirect(`/sign-in?step_up=1&return_to=${encodeURIComponent(path)}`, 303);
    if (refusal) return refuse(request, reply, refusal, session, 'campaign.task_refused');
    return session;
  }

  app.get('/campaigns/tasks/:token', async (request, reply) => {
    noLeaks(reply);
    const { token } = request.params as { token: string };
    if (!TOKEN.test(token)) return refuse(request, reply, new GatehouseError(CAMPAIGN_ERRORS.taskLinkInvalid, { status: 404, publicMessage: LINK_REFUSED, detail: 'malformed link' }), undefined, 'campaign.task_refused');
    const path = `/campaigns/tasks/${token}`;
    const session = await owner(request, reply, path);
    if (!('userId' in session)) return session;
    try {
      const task = await tasks.campaigns.ownerTaskByLink(token, { person: session.email });
      return reply.type('text/html; charset=utf-8').send(ownerTaskPage(page(request, reply), { email: session.email, path, task }));
    } catch (error) {
      return refuse(request, reply, error, session, 'campaign.task_refused');
    }
  });

  app.post('/campaigns/tasks/:token', async (request, reply) => {
    noLeaks(reply);
    const { token } = request.params as { token: string };
    const path = `/campaigns/tasks/${token}`;
    try {
      checkCsrf(request, deps.settings().allowedOrigins);
    } catch (error) {
      return refuse(request, reply, error, await currentSession(deps, request), 'campaign.task_refused');
    }
    const session = await owner(request, reply, path);
    if (!('userId' in session)) return session;
    const statement = (request.body as Record<string, unknown> | undefined)?.statement;
    try {
      const item = await tasks.campaigns.attestAsOwner(token, { person: session.email, statement: typeof statement === 'string' ? statement : '' });
      const message = item.state === 'done' ? `Recorded. ${item.name} is closed.` : `Recorded. An administrator will approve it; until then ${item.name} stays open.`;
      return reply
        .type('text/html; charset=utf-8')
        .send(messagePage(page(request, reply), { title: 'Thank you', message, status: 'ok', signedInAs: session.email, action: { href: '/account', label: 'Go to your account' } }));
    } catch (error) {
      return refuse(request, reply, error, session, 'campaign.task_refused');
    }
  });

  const approvalsPath = (id: string) => `/campaigns/${encodeURIComponent(id)}/approvals`;
  const campaignIdOf = (request: FastifyRequest) => {
    const { id } = request.params as { id: string };
    if (!CAMPAIGN_ID.test(id)) throw new GatehouseError('invalid_input', { status: 400, publicMessage: 'That campaign id is not valid.' });
    return id;
  };

  /** The admin gate; a missing session or a stale proof sends the admin to sign in and back. */
  async function admin(request: FastifyRequest, reply: FastifyReply, access: 'read' | 'write', back: string): Promise<SessionView | FastifyReply> {
    try {
      return await tasks.requireAdmin(request, access);
    } catch (error) {
      if (isGatehouseError(error) && error.code === 'admin_session_required') return reply.redirect(`/sign-in?return_to=${encodeURIComponent(back)}`, 303);
      if (isGatehouseError(error) && error.code === 'admin_step_up_required') return reply.redirect(`/sign-in?step_up=1&return_to=${encodeURIComponent(back)}`, 303);
      throw error;
    }
  }

  app.get('/campaigns/:id/approvals', async (request, reply) => {
    const id = campaignIdOf(request);
    const session = await admin(request, reply, 'read', approvalsPath(id));
    if (!('userId' in session)) return session;
    const awaiting = await tasks.campaigns.awaitingApproval(id);
    const approved = (request.query as Record<string, string | undefined>).approved === '1';
    return reply.type('text/html; charset=utf-8').send(approvalsPage(page(request, reply), { email: session.email, campaignId: id, tasks: awaiting, ...(approved ? { notice: 'Approval recorded.' } : {}) }));
  });

  app.post('/campaigns/:id/approvals', async (request, reply) => {
    const id = campaignIdOf(request);
    try {
      checkCsrf(request, deps.settings().allowedOrigins);
    } catch (error) {
      return refuse(request, reply, error, await currentSession(deps, request), 'campaign.approval_refused');
    }
    const session = await admin(request, reply, 'write', approvalsPath(id));
    if (!('userId' in session)) return session;
    const body = (request.body ?? {}) as Record<string, unknown>;
    try {
      await tasks.campaigns.approve(id, typeof body.item === 'string' ? body.item : '', { approver: session.email, statement: typeof body.statement === 'string' ? body.statement : '' });
    } catch (error) {
      return refuse(request, reply, error, session, 'campaign.approval_refused');
    }
    return reply.redirect(`${approvalsPath(id)}?approved=1`, 303);
  });
}
