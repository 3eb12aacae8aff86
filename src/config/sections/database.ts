import { z } from 'zod';

export const databaseSchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .default('sqlite:./data/gatehouse.db')
    .describe('`sqlite:PATH` (embedded, one node) or `postgres://user@host:port/db` (several nodes share it). Relative paths are relative to the config file.'),
  feed_poll_ms: z
    .number()
    .int()
    .min(10)
    .max(10_000)
    .default(100)
    .describe('How often each instance polls the change feed, in ms. On PostgreSQL LISTEN/NOTIFY wakes it at once and the poll is a safety net.'),
  pool_size: z.number().int().min(1).max(100).default(10).describe('PostgreSQL connections per instance.'),
});

export type DatabaseConfig = z.infer<typeof databaseSchema>;
