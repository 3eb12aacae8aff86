import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccessLayer } from './access/index.js';
import { registerAdminApi } from './admin/index.js';
import { registerConsole, type ConsoleHandle } from './console/index.js';
import type { GatehouseCore } from './core.js';
import type { ServiceTokens } from './credentials/index.js';
import type { DnsLayer } from './dns/index.js';
import type { IncidentResponse } from './incident/index.js';
import type { Clock } from './lib/clock.js';
import type { Random } from './lib/random.js';
import type { PortalSettings } from './portal/index.js';
import type { ReportsLayer } from './reports/index.js';

export interface AdminSurfacesInput {
  core: GatehouseCore;
  access: AccessLayer;
  dns: DnsLayer;
  incidents: IncidentResponse;
  serviceTokens: ServiceTokens;
  reports: ReportsLayer;
  portalSettings: () => PortalSettings;
  clock: Clock;
  random: Random;
}

/**
 * The two ways an administrator acts from a browser, wired in one place with one set of gate settings
 * (admin groups, write window, the portal's origins) and one rule for the client's address: the JSON
 * admin API under /admin/api and the console's pages under /admin. Both read the config snapshot per
 * request, so a reload changes who is an admin at once.
 */
export function registerAdminSurfaces(app: FastifyInstance, input: AdminSurfacesInput): ConsoleHandle {
  const { core, access, portalSettings, clock, random } = input;
  const settings = () => ({
    cookieName: portalSettings().cookieName,
    adminGroups: core.snapshot().config.identity.admin_groups,
    writeWindowMs: core.snapshot().config.identity.admin_write_window_minutes * 60_000,
    allowedOrigins: portalSettings().allowedOrigins,
    organisation: portalSettings().organisation,
  });
  const clientIp = (request: FastifyRequest) => access.clientAddress(request.raw);
  registerAdminApi(app, { incidents: input.incidents, audit: core.audit, random, clock, validateSession: (token) => core.identity.sessions.validate(token), clientIp, settings });
  return registerConsole(app, {
    db: core.store.db,
    audit: core.audit,
    identity: core.identity,
    serviceTokens: input.serviceTokens,
    clock,
    random,
    clientIp,
    settings,
    config: () => core.snapshot().config,
    reports: input.reports.reports,
    reportMeasures: () => input.reports.measures(),
    dns: input.dns,
    ipBlocks: access.ipBlocks,
    incidents: input.incidents,
  });
}
