import type { GatehouseCore } from '../core.js';
import {
  createCampaigns,
  createServiceTokens,
  CredentialInventory,
  serviceTokenSettingsOf,
  type Campaigns,
  type InventoryItem,
  type ServiceTokens,
} from '../credentials/index.js';

/**
 * What the incident playbook reaches of the credentials capability: service tokens (revoked at once,
 * on every instance, through the change feed), the inventory of outside credentials (read only:
 * Gatehouse cannot revoke those itself) and rotation campaigns (started, never run here: running one
 * needs the rotators and a secret sink, which `gatehouse campaign resume` has).
 */
export interface IncidentCredentials {
  tokens: Pick<ServiceTokens, 'show' | 'revoke' | 'sightings'>;
  campaigns: Pick<Campaigns, 'start' | 'list' | 'status'>;
  /** The inventory item with this id, or else this exact name; undefined when neither exists. */
  findInventoryItem(idOrName: string): Promise<InventoryItem | undefined>;
}

/**
 * Builds them over the core's store. `serviceTokens` is the running instance's own (the server passes
 * it, so a revocation reaches this instance's verifier without waiting for the feed); the CLI has none
 * and makes one, whose changes every instance applies from the feed.
 */
export function incidentCredentialsOf(core: Pick<GatehouseCore, 'store' | 'audit' | 'clock' | 'random' | 'snapshot'>, serviceTokens?: ServiceTokens): IncidentCredentials {
  const { store, clock, random, audit } = core;
  const tokens = serviceTokens ?? createServiceTokens({ store, clock, random, audit, settings: serviceTokenSettingsOf(core.snapshot().config.service_tokens) });
  // Starting a campaign only snapshots items: no rotator runs and no secret is issued here.
  const campaigns = createCampaigns({ store, clock, random, audit, tokens, rotators: new Map() });
  const inventory = new CredentialInventory(store, clock, random, audit);
  return {
    tokens,
    campaigns,
    async findInventoryItem(idOrName) {
      const items = await inventory.list({ includeRetired: true });
      return items.find((item) => item.id === idOrName) ?? items.find((item) => item.name === idOrName);
    },
  };
}
