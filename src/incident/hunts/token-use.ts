import { isGatehouseError, InputError } from '../../lib/errors.js';
import type { ServiceTokenRecord } from '../../credentials/index.js';
import { EVIDENCE_LIMIT, parseDetail, type HuntContext, type HuntEvidence, type HuntResult, type TokenUse } from './hunt-result.js';

const PAGE = 5000;

/** The token by name, or a `hunt_unknown_token` error naming it (read before anything else is). */
export async function tokenNamed(tokens: NonNullable<HuntContext['tokens']>, name: string, code: string): Promise<ServiceTokenRecord> {
  try {
    return await tokens.show(name);
  } catch (error) {
    if (isGatehouseError(error) && (error.code === 'service_token_not_found' || error.code === 'service_token_invalid_input')) {
      throw new InputError(`no service token named ${JSON.stringify(name.slice(0, 80))} (gatehouse tokens list)`, code);
    }
    throw error;
  }
}

/**
 * Where leaked service tokens were used from since the window start: every network (/24, /48) and app
 * with a sighting in the window (its first and last time seen), the token's last recorded use, and
 * every refused presentation of it from the audit log. What Gatehouse keeps is a summary, not a
 * request log: one row per network and app with the first and last time, so a network first seen
 * before the window and seen again inside it shows its older first sighting, and the requests in
 * between are in the proxy's access log only. Read-only.
 */
export async function huntTokenUse(ctx: HuntContext, input: { tokens: readonly string[]; sinceMs: number }): Promise<HuntResult> {
  if (!ctx.tokens) throw new Error('the token-use hunt needs the service tokens');
  const until = ctx.clock.now();
  const since = until - input.sinceMs;
  const names = [...new Set(input.tokens)];
  const records: ServiceTokenRecord[] = [];
  for (const name of names) records.push(await tokenNamed(ctx.tokens, name, 'hunt_unknown_token'));

  const evidence: HuntEvidence[] = [];
  let truncated = false;
  const keep = (row: HuntEvidence) => {
    if (evidence.length < EVIDENCE_LIMIT) evidence.push(row);
    else truncated = true;
  };
  const found: TokenUse[] = [];
  const byActor = new Map<string, TokenUse>();
  for (const token of records) {
    const sightings = (await ctx.tokens.sightings(token.name)).filter((s) => s.lastSeenAt >= since);
    const use: TokenUse = {
      name: token.name,
      owner: token.owner,
      status: token.status,
      lastUse: token.lastUsedAt === undefined ? undefined : { at: token.lastUsedAt, ip: token.lastUsedIp ?? null, app: token.lastUsedApp ?? null, userAgent: token.lastUsedUserAgent ?? null },
      networks: sightings.filter((s) => s.kind === 'network').map(({ value, firstSeenAt, lastSeenAt }) => ({ value, firstSeenAt, lastSeenAt })),
      apps: sightings.filter((s) => s.kind === 'app').map(({ value, firstSeenAt, lastSeenAt }) => ({ value, firstSeenAt, lastSeenAt })),
      refusals: 0,
    };
    found.push(use);
    byActor.set(`service_token:${token.name}`, use);
    for (const s of sightings) keep({ source: 'service_token_sightings', at: s.lastSeenAt, type: `token.${s.kind}`, userId: null, detail: { token: token.name, [s.kind]: s.value, firstSeenAt: s.firstSeenAt, lastSeenAt: s.lastSeenAt } });
    if (use.lastUse && use.lastUse.at >= since) {
      keep({ source: 'service_tokens', at: use.lastUse.at, type: 'token.last_use', userId: null, ip: use.lastUse.ip, detail: { token: token.name, app: use.lastUse.app, userAgent: use.lastUse.userAgent } });
    }
  }

  // Refusals name the token in `actor` when the presented client id was one of a known token's.
  const actors = [...byActor.keys()];
  let cursor = 0;
  while (actors.length > 0) {
    const rows = await ctx.db
      .selectFrom('audit_events')
      .select(['seq', 'at', 'type', 'outcome', 'code', 'actor', 'ip', 'detail'])
      .where('seq', '>', cursor)
      .where('type', '=', 'service_token.refused')
      .where('at', '>=', since)
      .where('actor', 'in', actors)
      .orderBy('seq')
      .limit(PAGE)
      .execute();
    for (const row of rows) {
      const use = byActor.get(row.actor ?? '');
      if (use) use.refusals += 1;
      keep({ source: 'audit', ref: Number(row.seq), at: Number(row.at), type: row.type, outcome: row.outcome, code: row.code, userId: null, ip: row.ip, detail: parseDetail(row.detail) });
    }
    if (rows.length < PAGE) break;
    cursor = Number(rows.at(-1)!.seq);
  }

  return {
    hunt: 'token-use',
    params: { tokens: names, sinceMs: input.sinceMs },
    window: { since, until },
    users: [],
    sessions: [],
    evidence: evidence.sort((a, b) => a.at - b.at),
    tokens: found,
    truncated,
  };
}
