import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { IpBlocks } from '../access/index.js';
import type { AdminAuthSettings } from '../admin/index.js';
import type { AuditLog } from '../audit/index.js';
import type { ServiceTokens } from '../credentials/index.js';
import type { GatehouseConfig } from '../config/index.js';
import type { DnsLayer } from '../dns/index.js';
import type { IdentityService } from '../identity/index.js';
import type { IncidentResponse } from '../incident/index.js';
import type { Clock } from '../lib/clock.js';
import type { Random } from '../lib/random.js';
import type { ReportMeasures, Reports } from '../reports/index.js';
import type { Database } from '../store/index.js';

/** What the console reads from the current config snapshot (re-read on every request: hot reload). */
export interface ConsoleSettings extends AdminAuthSettings {
  organisation: string;
  /** Origins a state-changing request may come from (the portal's own). */
  allowedOrigins: readonly string[];
}

/**
 * Everything the console's pages use, passed in by the composition root. Each page takes only what it
 * needs from here; the console owns no state of its own beyond its rollups.
 */
export interface ConsoleDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  identity: IdentityService;
  /** Suspend, resume and revoke from the tokens page (through the feed, like the CLI). */
  serviceTokens: Pick<ServiceTokens, 'revoke' | 'suspend' | 'resume'>;
  clock: Clock;
  random: Random;
  settings: () => ConsoleSettings;
  clientIp: (request: FastifyRequest) => string;
  /** The config snapshot in force (apps, `ssh.apps`, `tcp.apps`, global access rules): re-read per request. */
  config: () => GatehouseConfig;
  /** Reported lures: the triage queue reads and acts through this, never on the tables by hand. */
  reports: Reports;
  /** The reports' measures, memoised per group (the same measurer `/metrics` reads). */
  reportMeasures: () => Promise<ReportMeasures>;
  /** Runtime domain blocks, the lists in force and the domain verdicts (the CLI's `domain`, `dns lists`). */
  dns: Pick<DnsLayer, 'domainBlocks' | 'gateway' | 'config' | 'intel'>;
  /** The running instance's IP blocks: applied here at once, on the other instances by the feed; the policy tester sees them as the gateway does. */
  ipBlocks: IpBlocks;
  incidents: IncidentResponse;
}
