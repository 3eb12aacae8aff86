import { z } from 'zod';
import { accessSchema, appsSchema } from './sections/apps.js';
import { databaseSchema } from './sections/database.js';
import { dnsConfigSchema } from './sections/dns.js';
import { identitySchema, loggingSchema, portalSchema, sessionsSchema } from './sections/identity.js';
import { incidentSchema } from './sections/incident.js';
import { serverSchema } from './sections/server.js';
import { webauthnSchema } from './sections/webauthn.js';

/**
 * The whole `gatehouse.yaml`. Every object is strict (unknown keys are errors that name their path),
 * every field documents itself with `.describe()` — docs/configuration.md is generated from it.
 */
export const gatehouseConfigSchema = z.strictObject({
  server: serverSchema.describe('Listeners and the portal host.'),
  database: databaseSchema.default(databaseSchema.parse({})).describe('Where state lives.'),
  webauthn: webauthnSchema.describe('Security keys and passkeys: the relying party and its exact origins.'),
  identity: identitySchema.default(identitySchema.parse({})).describe('Users, invites and legacy factors.'),
  sessions: sessionsSchema.default(sessionsSchema.parse({})).describe('Portal sessions.'),
  portal: portalSchema.default(portalSchema.parse({})).describe('The sign-in portal.'),
  access: accessSchema,
  apps: appsSchema.default([]),
  dns: dnsConfigSchema.prefault({}),
  incident: incidentSchema.prefault({}).describe('Incident response: notifications, hunts and alerts.'),
  logging: loggingSchema.default(loggingSchema.parse({})).describe('Structured logs (pino). Secrets are never logged.'),
});

export type GatehouseConfig = z.infer<typeof gatehouseConfigSchema>;
