import type { StepContext } from '../playbook-context.js';
import type { IncidentCampaign } from '../incident-types.js';
import type { PlaybookStep } from './playbook-step.js';

/** The campaign an incident starts names it first in its reason: that is how a resumed run finds it again. */
export function campaignReasonOf(incident: { id: string; title: string }): string {
  return `incident ${incident.id}: ${incident.title}`.slice(0, 500);
}

export function incidentCampaignOf(id: string, items: number): IncidentCampaign {
  return { id, items, follow: `gatehouse campaign status ${id}`, run: `gatehouse campaign resume ${id} --deliver-dir DIR` };
}

async function startOrFindCampaign(ctx: StepContext): Promise<IncidentCampaign> {
  const { deps, incident, actor } = ctx;
  const { campaigns } = deps.credentials;
  const reason = campaignReasonOf(incident);
  // A run that died after starting the campaign and before recording it must not start a second one.
  const existing = (await campaigns.list()).find((c) => c.reason === reason);
  if (existing) return incidentCampaignOf(existing.id, (await campaigns.status(existing.id)).total);
  const scope = { ...incident.options.campaign!.scope };
  if (incident.indicators.tokens.length > 0) scope.token = [...incident.indicators.tokens];
  if (incident.indicators.credentials.length > 0) scope.credential = [...incident.indicators.credentials];
  // Emergency: a token's old secret must not keep working through an overlap (the named ones are
  // revoked already; this covers tokens the scope's filters add).
  const started = await campaigns.start({ reason, scope, emergency: true, actor });
  return incidentCampaignOf(started.campaign.id, started.items);
}

/**
 * First of all: a leaked service token works for whoever holds it until it is revoked. Each named
 * token is revoked (final) with the incident as reason and actor; the change-feed row makes every
 * instance refuse it (`service_token_revoked`) as soon as it arrives. Revoking a revoked token writes
 * nothing, so a resumed run revokes nothing twice.
 *
 * Outside credentials (inventory items) cannot be revoked by Gatehouse itself: only their rotator can,
 * and only a campaign runs rotators, with a probe proving the old credential refused. They are handed
 * to the incident's campaign (`--campaign`), or reported as still to be revoked by hand.
 */
export const revokeCredentialsStep: PlaybookStep = {
  name: 'revoke_credentials',
  dependsOn: () => [],
  async run(ctx) {
    const { deps, incident, actor, reason } = ctx;
    const { tokens, credentials } = incident.indicators;
    const revoked: string[] = [];
    const alreadyRevoked: string[] = [];
    const result: Record<string, unknown> = { revoked, alreadyRevoked };
    try {
      for (const name of tokens) {
        const before = await deps.credentials.tokens.show(name);
        if (before.status === 'revoked') {
          alreadyRevoked.push(name);
          continue;
        }
        await deps.credentials.tokens.revoke(name, { actor, reason });
        revoked.push(name);
      }
      const outside: { id: string; name: string; system: string; rotator: string | null }[] = [];
      for (const id of credentials) {
        const item = await deps.credentials.findInventoryItem(id);
        outside.push({ id, name: item?.name ?? '(no longer in the inventory)', system: item?.system ?? '?', rotator: item?.rotator ?? null });
      }
      if (outside.length > 0) {
        result.credentials = outside;
        result.credentialsNote = incident.options.campaign
          ? 'not revoked by Gatehouse: the campaign rotates or revokes each through its rotator and probes the old one refused (or makes it an owner task)'
          : 'NOT revoked: Gatehouse cannot revoke an outside credential without a rotator; revoke each at its system, or declare with --campaign';
      }
      if (incident.options.campaign) result.campaign = await startOrFindCampaign(ctx);
    } catch (error) {
      // What was revoked before the failure stays in the timeline.
      throw Object.assign(error instanceof Error ? error : new Error(String(error)), { result });
    }
    return result;
  },
};
