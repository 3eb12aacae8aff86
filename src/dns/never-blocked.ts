import type { GatehouseConfig } from '../config/index.js';

/**
 * Names no runtime block may cover: the portal's own host (a block would lock every person out of
 * sign-in and every admin out of the console that lifts it), the organisation's protected domains and
 * `reports.never_block`. A name is refused when it is one of them, under one, or above one (blocking
 * `localhost` would cover `sso.acme.localhost`).
 */
export function keptDomainsOf(config: GatehouseConfig): string[] {
  return [config.server.portal_host, ...(config.dns.protect?.domains ?? []), ...config.reports.never_block];
}

/** The kept name `name` would cover or be covered by, if any (names already normalised). */
export function neverBlockedBy(name: string, kept: readonly string[]): string | undefined {
  return kept.find((entry) => {
    const p = entry.toLowerCase().replace(/\.$/, '');
    return name === p || name.endsWith(`.${p}`) || p.endsWith(`.${name}`);
  });
}
