import type { PlaybookStep } from './playbook-step.js';

/** Indicator addresses are refused at every app (and the portal) on every instance. Idempotent. */
export const blockIpsStep: PlaybookStep = {
  name: 'block_ips',
  dependsOn: () => [],
  async run({ deps, incident, actor, reason }) {
    // An address an earlier incident (or an operator) blocked keeps its block and its reason.
    const before = new Set(deps.ipBlocks.list().map((b) => b.cidr));
    for (const cidr of incident.indicators.ips) if (!before.has(cidr)) await deps.ipBlocks.block(cidr, { reason, actor });
    return { blocked: incident.indicators.ips.filter((c) => !before.has(c)), alreadyBlocked: incident.indicators.ips.filter((c) => before.has(c)) };
  },
};
