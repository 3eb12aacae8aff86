import type { PlaybookDeps } from './playbook-context.js';

/** The runtime blocks an incident added that are still in force, and whether it switched strict mode on. */
export interface IncidentBlocks {
  domains: string[];
  ips: string[];
  /** Strict new-domain isolation is on, and this incident turned it on. */
  strictNewDomains: boolean;
}

/** What closing did with the incident's blocks (the `blocks` field of `incident close --json`). */
export interface ClosedIncidentBlocks {
  domains: string[];
  ips: string[];
  /** True when `--lift-blocks` lifted `domains` and `ips`; false when they stay in force. */
  lifted: boolean;
  strictNewDomains: {
    /** Strict mode was on, turned on by this incident. */
    onByThisIncident: boolean;
    /** Closing switched it off (with `--lift-blocks`, when no other incident is open). */
    switchedOff: boolean;
  };
}

/**
 * A block belongs to the incident while it still carries the incident's reason (`incident <id>: …`,
 * run-playbook.ts). A name or address that an operator or another incident blocked first, or re-blocked
 * since with its own reason, is not the incident's to lift.
 */
function isIncidentReason(reason: string, incidentId: string): boolean {
  return reason.startsWith(`incident ${incidentId}:`);
}

export async function blocksOfIncident(deps: Pick<PlaybookDeps, 'domainBlocks' | 'ipBlocks'>, incidentId: string): Promise<IncidentBlocks> {
  const [domains, strict] = await Promise.all([deps.domainBlocks.list(), deps.domainBlocks.strictNewDomainsState()]);
  return {
    domains: domains.filter((b) => isIncidentReason(b.reason, incidentId)).map((b) => b.name),
    ips: deps.ipBlocks.list().filter((b) => isIncidentReason(b.reason, incidentId)).map((b) => b.cidr),
    strictNewDomains: strict.on && strict.incident === incidentId,
  };
}

/**
 * Lifts what `blocksOfIncident` found, each through its store (feed row and audit event, so every
 * instance lets the names and addresses through again). Strict mode is switched off only when no other
 * open incident remains: it protects against the next lookalike of whichever campaign is still running.
 */
export async function liftBlocksOfIncident(
  deps: Pick<PlaybookDeps, 'domainBlocks' | 'ipBlocks'>,
  blocks: IncidentBlocks,
  input: { actor: string; otherOpenIncidents: number },
): Promise<ClosedIncidentBlocks> {
  if (blocks.domains.length > 0) await deps.domainBlocks.unblock(blocks.domains, input.actor);
  for (const cidr of blocks.ips) await deps.ipBlocks.unblock(cidr, input.actor);
  const switchedOff = blocks.strictNewDomains && input.otherOpenIncidents === 0;
  if (switchedOff) await deps.domainBlocks.setStrictNewDomains(false, input.actor);
  return { domains: blocks.domains, ips: blocks.ips, lifted: true, strictNewDomains: { onByThisIncident: blocks.strictNewDomains, switchedOff } };
}

export function keptBlocks(blocks: IncidentBlocks): ClosedIncidentBlocks {
  return { domains: blocks.domains, ips: blocks.ips, lifted: false, strictNewDomains: { onByThisIncident: blocks.strictNewDomains, switchedOff: false } };
}
