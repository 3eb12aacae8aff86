import { z } from 'zod';
import { GatehouseError } from '../lib/errors.js';

const list = z.array(z.string().min(1).max(2048)).max(1000);

/** POST /admin/api/incidents: the CLI's `incident declare` flags as JSON. */
export const declareBody = z.strictObject({
  title: z.string().min(1).max(200),
  domains: list.default([]),
  ips: list.default([]),
  urls: list.default([]),
  users: list.default([]),
  tokens: list.default([]),
  credentials: list.default([]),
  campaign: z.boolean().default(false),
  campaign_scope: z.string().max(1000).optional(),
  all_sessions: z.boolean().default(false),
  since: z.string().max(12).optional(),
  dry_run: z.boolean().default(false),
});

export const closeBody = z.strictObject({ note: z.string().max(2000).optional(), lift_blocks: z.boolean().default(false) });

export const resumeBody = z.strictObject({ takeover: z.boolean().default(false) });

export const incidentIdParam = z.strictObject({ id: z.string().regex(/^inc-[0-9a-f-]{36}$/) });

/** Validates an untrusted body; the error names the first bad field (no secrets in a body). */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const message = `${issue.path.join('.') || 'body'}: ${issue.message}`;
  throw new GatehouseError('invalid_input', { status: 400, publicMessage: `The request is not valid: ${message}`, detail: message });
}
