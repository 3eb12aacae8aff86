import { domainBlocksOf, type DomainBlocks } from '../../dns/index.js';
import { buildDomainIntel, type DomainIntel } from '../../intel/index.js';
import { startRdapFixture, type RdapFixture } from '../../intel/domain-age/test-support/rdap-fixture-server.js';
import type { ReportsConfig } from '../../config/index.js';
import { openCoreFixture, type CoreFixture } from '../../../test/support/core-fixture.js';
import { createReports, type Reports } from '../create-reports.js';

const DAY = 86_400_000;

export interface ReportsFixture {
  fixture: CoreFixture;
  rdap: RdapFixture;
  intel: DomainIntel;
  reports: Reports;
  blocks: DomainBlocks;
  /** Mutable: settings are read on every report. */
  config: { reports: ReportsConfig };
  close(): Promise<void>;
}

/**
 * A core on SQLite or PostgreSQL, the real domain classifier (acme protected) asking a local RDAP
 * fixture (never the internet): `acme-payroll.com` is an established lookalike, `acme-login.net` a
 * two-day-old one, `wikipedia.org` an established harmless name.
 */
export async function openReportsFixture(options: { databaseUrl?: string; reportsYaml?: string } = {}): Promise<ReportsFixture> {
  const rdap = await startRdapFixture();
  const fixture = await openCoreFixture({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    extraYaml: `dns:
  protect:
    brands: [acme]
    domains: [acme.com]
  age:
    rdap_overrides: { com: "${rdap.baseUrl}", net: "${rdap.baseUrl}", org: "${rdap.baseUrl}", ly: "${rdap.baseUrl}" }
    time_budget_ms: 5000
reports:
  threshold_reporters: 3
  window_minutes: 30
  responders: [soc@acme.com]
  never_block: [popular.example.com]
${options.reportsYaml ?? ''}`,
  });
  const { core, clock } = fixture;
  const config = core.snapshot().config;
  rdap.set('acme-payroll.com', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 1) });
  rdap.set('acme-login.net', { kind: 'registered', registeredAt: clock.now() - 2 * DAY });
  rdap.set('wikipedia.org', { kind: 'registered', registeredAt: Date.UTC(2001, 0, 13) });
  rdap.set('bit.ly', { kind: 'registered', registeredAt: Date.UTC(2008, 0, 1) });
  const intel = buildDomainIntel({ dns: config.dns, store: core.store, clock, rdapConnection: rdap.connection });
  const blocks = domainBlocksOf({ ...core, clock, snapshot: () => core.snapshot() });
  const mutable = { reports: config.reports };
  const reports = createReports({
    db: core.store.db,
    audit: core.audit,
    clock,
    random: core.random,
    verdicts: intel.classifier,
    domainBlocks: blocks,
    settings: () => ({ reports: mutable.reports, organisation: 'Acme', protectedDomains: [...(config.dns.protect?.domains ?? []), config.server.portal_host] }),
  });
  return {
    fixture,
    rdap,
    intel,
    reports,
    blocks,
    config: mutable,
    async close() {
      await intel.stop();
      await fixture.close();
      await rdap.close();
    },
  };
}
