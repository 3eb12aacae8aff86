import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionView } from '../identity/index.js';
import { csrfTokenFor } from '../portal/index.js';
import type { ConsoleDeps } from './console-deps.js';
import type { ConsoleGate } from './console-gate.js';
import type { ConsoleSection, ConsoleView } from './console-layout.js';
import type { LiveStreams } from './live-streams.js';

/** What every console page and action is registered with. */
export interface ConsoleContext {
  deps: ConsoleDeps;
  gate: ConsoleGate;
  /** The open live streams (bounded, ended on revocation through the change feed). */
  liveStreams: LiveStreams;
  /** The page shell's inputs for this request (sets the CSRF cookie when there is none). */
  view(request: FastifyRequest, reply: FastifyReply, session: SessionView, section: ConsoleSection, title: string): ConsoleView;
}

export function createConsoleContext(deps: ConsoleDeps, gate: ConsoleGate, liveStreams: LiveStreams): ConsoleContext {
  return {
    deps,
    gate,
    liveStreams,
    view: (request, reply, session, section, title) => ({
      organisation: deps.settings().organisation,
      csrfToken: csrfTokenFor(request, reply, deps.random, request.isHttps),
      session,
      section,
      title,
    }),
  };
}
