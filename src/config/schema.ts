import { z } from 'zod';
import { FIXED_COOKIE_NAMES } from '../lib/gatehouse-cookie-names.js';
import { accessSchema, appsSchema } from './sections/apps.js';
import { consoleSchema } from './sections/console.js';
import { databaseSchema } from './sections/database.js';
import { dnsConfigSchema } from './sections/dns.js';
import { identitySchema, loggingSchema, portalSchema, sessionsSchema } from './sections/identity.js';
import { incidentSchema } from './sections/incident.js';
import { reportsSchema } from './sections/reports.js';
import { rotatorsSchema } from './sections/rotators.js';
import { serverSchema } from './sections/server.js';
import { serviceTokensSchema } from './sections/service-tokens.js';
import { sshSchema } from './sections/ssh.js';
import { tcpSchema } from './sections/tcp.js';
import { webauthnSchema } from './sections/webauthn.js';
import { serviceTokenAppNameClashes } from './service-token-app-names.js';

/**
 * The whole `gatehouse.yaml`. Every object is strict (unknown keys are errors that name their path),
 * every field documents itself with `.describe()` — docs/configuration.md is generated from it.
 */
export const gatehouseConfigSchema = z
  .strictObject({
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
    service_tokens: serviceTokensSchema.prefault({}).describe('Service tokens: client id and secret credentials for machine-to-machine access.'),
    rotators: rotatorsSchema.default({}),
    console: consoleSchema.prefault({}).describe('The admin console under /admin on the portal host.'),
    reports: reportsSchema.prefault({}).describe('Report something suspicious: the portal page, the SMTP intake, triage and escalation.'),
    ssh: sshSchema.prefault({}).describe('The SSH certificate authority: short-lived user certificates, host certificates and the trust lines for servers and clients.'),
    tcp: tcpSchema.prefault({}).describe('TCP services through the access proxy: `gatehouse tunnel APP` carries a stream over a WebSocket to the app\'s configured upstream.'),
    logging: loggingSchema.default(loggingSchema.parse({})).describe('Structured logs (pino). Secrets are never logged.'),
  })
  .superRefine((config, ctx) => {
    // One name per cookie: the browser keeps one value per name and host, so two of ours sharing a
    // name overwrite each other (an app served on the portal's host would lose its session or the
    // portal's). The `__Host-` prefix is added to both alike, so comparing the configured names is enough.
    const portal = config.sessions.cookie_name;
    const app = config.access.session_cookie_name;
    if (portal === app) ctx.addIssue({ code: 'custom', path: ['access', 'session_cookie_name'], message: `must differ from sessions.cookie_name ("${portal}")` });
    for (const [path, name] of [[['sessions', 'cookie_name'], portal], [['access', 'session_cookie_name'], app]] as const) {
      if (FIXED_COOKIE_NAMES.includes(name)) ctx.addIssue({ code: 'custom', path: [...path], message: `"${name}" is the name of another Gatehouse cookie` });
    }
    // One namespace for what a service token may reach: a shared name would be one grant for two ways in.
    for (const { clash, first } of serviceTokenAppNameClashes(config)) {
      ctx.addIssue({ code: 'custom', path: clash.path, message: `"${clash.name}" is also ${first.key}: a service token listing it would reach both; give one of them another name` });
    }
  });

export type GatehouseConfig = z.infer<typeof gatehouseConfigSchema>;
