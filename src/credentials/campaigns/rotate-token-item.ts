import type { Clock } from '../../lib/clock.js';
import type { RotationTarget } from '../rotation/index.js';
import type { ServiceTokens } from '../service-tokens/index.js';
import type { CampaignEndState, CampaignEvidence, CampaignItem } from './campaign-item.js';

export type TokenStep =
  | { kind: 'done'; endState: CampaignEndState; evidence: CampaignEvidence; deliveredTo: string }
  | { kind: 'waiting'; waitUntil: number; deliveredTo: string };

export interface TokenItemContext {
  tokens: Pick<ServiceTokens, 'rotate' | 'revoke' | 'show' | 'verify'>;
  clock: Clock;
  emergency: boolean;
  overlapMs: number;
  actor: string;
  deliverSecret: ((target: RotationTarget, secret: Buffer) => Promise<string>) | undefined;
  /** Throws (with the sink's code) when `deliverSecret` would refuse `target`: called before the token changes. */
  checkDelivery: ((target: RotationTarget) => Promise<void>) | undefined;
}

/** Refusals the verifier gives only after the secret matched the digest it holds (it checks the secret first). */
const AFTER_SECRET_MATCHED = new Set(['service_token_expired', 'service_token_suspended', 'service_token_revoked', 'service_token_app_not_allowed']);

/**
 * Presents the secret just issued to this instance's verifier. The verifier holds at most two digests
 * per token (current, and previous during an overlap); the new secret matching proves it applied the
 * state version the rotation wrote, and that state's previous digest is what decides whether the old
 * secret still works. Returns the verifier's answer for the evidence.
 */
function probe(context: TokenItemContext, clientId: string, secret: string, app: string): string {
  const verdict = context.tokens.verify({ clientId, secret, app, now: context.clock.now() });
  if (verdict.ok) return verdict.usedPreviousSecret ? 'accepted as previous secret' : 'accepted';
  if (AFTER_SECRET_MATCHED.has(verdict.code)) return verdict.code;
  throw new Error(`the verifier did not accept the secret the rotation issued (${verdict.code}); the rotation is not in its snapshot`);
}

/**
 * One service token of a campaign. A token believed unused is revoked, never rotated; the others are
 * rotated in emergency (the old digest is gone from the state at once) or with an overlap (the item
 * waits until the overlap ends: until then the old secret still works, so there is nothing to prove).
 */
export async function rotateTokenItem(item: CampaignItem, context: TokenItemContext): Promise<TokenStep> {
  const { tokens, clock, actor } = context;
  const current = await tokens.show(item.name);
  const app = current.apps[0] ?? '';
  if (current.status === 'revoked') {
    return { kind: 'done', endState: 'revoked', deliveredTo: 'none', evidence: { kind: 'revocation_probed', at: clock.now(), detail: { probe: 'token state', status: 'revoked', version: current.version, proves: 'a revoked token is refused whatever secret is presented (revocation is final)' } } };
  }
  if (item.believedUnused || current.believedUnused) {
    // To probe a revocation we need a secret the verifier knew: rotate in emergency to one we hold for
    // an instant, revoke, then present it. `service_token_revoked` is returned only after the secret
    // matched, so it proves the verifier holds the revoked state of the newest version.
    const issued = await tokens.rotate(item.name, { emergency: true, actor });
    const revoked = await tokens.revoke(item.name, { actor, reason: `rotation campaign ${item.campaignId}: believed unused` });
    const answer = probe(context, issued.clientId, issued.secret, app);
    if (answer !== 'service_token_revoked') throw new Error(`the verifier answered ${answer} after the revocation`);
    return { kind: 'done', endState: 'revoked', deliveredTo: 'none', evidence: { kind: 'revocation_probed', at: clock.now(), detail: { probe: 'verifier', answer, version: revoked.version } } };
  }
  if (!context.deliverSecret) throw new Error('no secret sink is configured for service tokens: the new secret would be lost');
  const target: RotationTarget = { itemId: item.credentialId, rotator: 'gatehouse-service-token', locator: { token: item.name } };
  // Before the rotation: an emergency rotation kills the old secret at once, so a target that would
  // refuse the new one (a planted symlink, a read-only folder) must fail the item while the old secret
  // still works, not after. A failure after this point is the sink's to handle (see the CLI's fileSink).
  await context.checkDelivery?.(target);
  if (context.emergency) {
    const issued = await tokens.rotate(item.name, { emergency: true, actor });
    const deliveredTo = await context.deliverSecret(target, Buffer.from(`${issued.clientId}\n${issued.secret}\n`));
    const answer = probe(context, issued.clientId, issued.secret, app);
    const after = await tokens.show(item.name);
    if (after.previousValidUntil !== undefined && after.previousValidUntil > clock.now()) throw new Error('the token still accepts a previous secret after an emergency rotation');
    return {
      kind: 'done',
      endState: 'rotated',
      deliveredTo,
      evidence: {
        kind: 'old_credential_refused',
        at: clock.now(),
        detail: { probe: 'verifier', newSecret: answer, version: after.version, previousDigestHeld: false, proves: `state version ${after.version} holds the new digest only: the old secret matches nothing on this instance; other instances apply the same version from the change feed` },
      },
    };
  }
  const issued = await tokens.rotate(item.name, { overlapUntil: clock.now() + context.overlapMs, actor });
  const deliveredTo = await context.deliverSecret(target, Buffer.from(`${issued.clientId}\n${issued.secret}\n`));
  probe(context, issued.clientId, issued.secret, app);
  return { kind: 'waiting', waitUntil: issued.token.previousValidUntil ?? clock.now(), deliveredTo };
}

/** After an overlap: the old secret is refused once `previousValidUntil` has passed (the verifier compares it with now). */
export async function finishOverlap(item: CampaignItem, context: Pick<TokenItemContext, 'tokens' | 'clock'>): Promise<CampaignEvidence | undefined> {
  const current = await context.tokens.show(item.name);
  const now = context.clock.now();
  if (current.status === 'revoked') return { kind: 'revocation_probed', at: now, detail: { probe: 'token state', status: 'revoked', version: current.version } };
  if (current.previousValidUntil !== undefined && current.previousValidUntil > now) return undefined;
  return {
    kind: 'overlap_ended',
    at: now,
    detail: { probe: 'token state', version: current.version, overlapEndedAt: current.previousValidUntil ?? item.waitUntil ?? now, proves: 'the verifier refuses the previous digest after the overlap end on every instance holding this version' },
  };
}
