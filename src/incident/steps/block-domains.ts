import type { PlaybookStep } from './playbook-step.js';

/**
 * Indicator domains go into the DNS gateway's runtime block list (subdomains included) with a feed
 * row, so every instance answers them as blocked; strict new-domain isolation follows where
 * configured, because the next lookalike is usually registered within the hour (2022).
 */
export const blockDomainsStep: PlaybookStep = {
  name: 'block_domains',
  dependsOn: () => [],
  async run({ deps, incident, actor, reason }) {
    const { domains } = incident.indicators;
    if (domains.length === 0) return { blocked: [], alreadyBlocked: [], strictNewDomains: 'unchanged' };
    const added = await deps.domainBlocks.block(domains, { reason, actor });
    let strict = 'unchanged';
    if (incident.options.strictNewDomains) {
      if (!(await deps.domainBlocks.strictNewDomains())) await deps.domainBlocks.setStrictNewDomains(true, actor);
      strict = 'on';
    }
    return { blocked: added, alreadyBlocked: domains.filter((d) => !added.includes(d)), strictNewDomains: strict };
  },
};
