import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SessionView } from '../identity/index.js';
import { GatehouseError } from '../lib/errors.js';
import { html } from '../portal/index.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, type ConsoleSection } from './console-layout.js';

export interface ActionResult {
  /** What happened, in words, shown to the admin. Never quotes unescaped input (rendered as text). */
  message: string;
  /** Where the page goes next (a console path); default: reload the page the form was on. */
  redirect?: string;
  /** Shown once (an invite link): never logged, never in the audit detail. */
  secret?: { label: string; value: string };
  /** Extra audit detail (no secrets): what the action touched. */
  audit?: Record<string, unknown>;
}

export type ActionHandler = (request: FastifyRequest, session: SessionView) => Promise<ActionResult>;

/** A console request made by console.js (fetch) rather than by a plain form post, or a `.json` endpoint. */
export function wantsJson(request: FastifyRequest): boolean {
  return String(request.headers.accept ?? '').includes('application/json') || request.url.split('?')[0]!.endsWith('.json');
}

const CONTROL_BYTES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** A form field as a bounded string; missing or oversized names the field. */
export function formField(request: FastifyRequest, name: string, options: { optional?: boolean; max?: number } = {}): string {
  const value = (request.body as Record<string, unknown> | undefined)?.[name];
  if ((value === undefined || value === '') && options.optional) return '';
  if (typeof value !== 'string' || value.length === 0 || value.length > (options.max ?? 500)) {
    throw new GatehouseError('invalid_input', { status: 400, publicMessage: `The form field "${name}" is missing or too long.` });
  }
  // No form sends control bytes but tab and line breaks: NUL is refused by PostgreSQL text (a 500 with
  // a step half done) and stored as is by SQLite (an email or note that looks like another).
  if (CONTROL_BYTES.test(value)) {
    throw new GatehouseError('invalid_input', { status: 400, publicMessage: `The form field "${name}" contains control characters.` });
  }
  return value;
}

/** The one audit event of a console action that ran: what, by which admin, from where (no secrets). */
export function auditConsoleAction(ctx: ConsoleContext, request: FastifyRequest, session: SessionView, action: string, detail: Record<string, unknown> = {}): Promise<unknown> {
  return ctx.deps.audit.record({
    type: 'admin.console_action',
    outcome: 'success',
    userId: session.userId,
    actor: `admin:${session.userId}`,
    ip: ctx.deps.clientIp(request),
    detail: { action, ...detail },
  });
}

/**
 * Registers a state-changing console action at POST `path`. The gate's write check runs first (admin,
 * recent key proof, CSRF), then the handler; the result is audited as `admin.console_action` with the
 * admin's identity, and answered as JSON for console.js or as a page for a plain form post.
 */
export function registerConsoleAction(scope: FastifyInstance, ctx: ConsoleContext, section: ConsoleSection, path: string, action: string, handler: ActionHandler): void {
  scope.post(path, async (request, reply) => {
    const session = await ctx.gate.write(request);
    const result = await handler(request, session);
    await auditConsoleAction(ctx, request, session, action, result.audit);
    return answer(request, reply, ctx, session, section, result);
  });
}

function answer(request: FastifyRequest, reply: FastifyReply, ctx: ConsoleContext, session: SessionView, section: ConsoleSection, result: ActionResult): FastifyReply {
  if (wantsJson(request)) return reply.send({ ok: true, message: result.message, ...(result.redirect ? { redirect: result.redirect } : {}), ...(result.secret ? { secret: result.secret } : {}) });
  // Without script: a page with the outcome (and the secret, once), never a redirect carrying text in
  // its URL that a crafted link could make the console display.
  const body = html`<div class="notice ok" role="status">${result.message}</div>
    ${result.secret ? html`<div class="notice warn"><p>${result.secret.label}</p><code class="secret-value">${result.secret.value}</code></div>` : ''}
    <p><a class="button secondary" href="${result.redirect ?? '/admin'}">Back</a></p>`;
  return reply.type('text/html; charset=utf-8').send(consolePage(ctx.view(request, reply, session, section, 'Done'), body));
}
