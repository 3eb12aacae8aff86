import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SessionView } from '../identity/index.js';
import type { SafeHtml } from '../portal/index.js';
import { auditConsoleAction, wantsJson } from './console-action.js';
import type { ConsoleContext } from './console-context.js';
import { consolePage, type ConsoleSection } from './console-layout.js';

export interface PagePostResult {
  title: string;
  /** The page shown to a form post (the dry-run plan, a hunt's evidence), given the page's CSRF token. */
  body: (csrfToken: string) => SafeHtml;
  /** The same result for a JSON caller. */
  json: Record<string, unknown>;
  /** Audit detail (no secrets). */
  audit?: Record<string, unknown>;
}

/**
 * A console POST whose answer is a page to read rather than a message (a plan before declaring, a
 * hunt's evidence): the same write gate as `registerConsoleAction` (admin, recent key proof, CSRF)
 * and the same `admin.console_action` audit event, because both show what only an admin may see and
 * a cross-site form must not make the server run them.
 */
export function registerConsolePagePost(
  scope: FastifyInstance,
  ctx: ConsoleContext,
  section: ConsoleSection,
  path: string,
  action: string,
  handler: (request: FastifyRequest, session: SessionView) => Promise<PagePostResult>,
): void {
  scope.post(path, async (request, reply) => {
    const session = await ctx.gate.write(request);
    const result = await handler(request, session);
    await auditConsoleAction(ctx, request, session, action, result.audit);
    if (wantsJson(request)) return reply.send({ ok: true, ...result.json });
    const view = ctx.view(request, reply, session, section, result.title);
    return reply.type('text/html; charset=utf-8').send(consolePage(view, result.body(view.csrfToken)));
  });
}
