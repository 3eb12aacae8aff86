import { z } from 'zod';

/**
 * The admin console. Threat: a stolen admin cookie holding many live streams (each a feed of the
 * incident response, and each polling the database); the bounds below cap what one cookie and one
 * admin can hold, and a revoked session's streams end at once on every instance.
 */
export const consoleSchema = z.strictObject({
  live_streams_per_session: z
    .number()
    .int()
    .min(1)
    .max(20)
    .default(2)
    .describe(
      'Live views (the incident timeline stream) one admin session may hold open; more are refused 429 `console_too_many_streams`. Two: the tab in use and the one a reload or a reconnect opens before the old connection is seen to close.',
    ),
  live_streams_per_admin: z
    .number()
    .int()
    .min(1)
    .max(50)
    .default(4)
    .describe('Live views one admin may hold open across all their sessions (two browsers or devices); more are refused 429 `console_too_many_streams`.'),
});
