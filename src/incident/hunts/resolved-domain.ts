import { sql } from 'kysely';
import { normaliseDomainName } from '../../dns/index.js';
import { addReason, EVIDENCE_LIMIT, liveSessionsOf, usersWithReasons, type HuntContext, type HuntEvidence, type HuntResult } from './hunt-result.js';

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Who clicked: clients and users whose DNS queries (the gateway's query log) named one of the
 * domains or a subdomain of it, within the window. Users are those the gateway attributed the query
 * to (per-user DoH); plain UDP clients are listed by address for the network team.
 */
export async function huntResolvedDomain(ctx: HuntContext, input: { domains: readonly string[]; sinceMs: number }): Promise<HuntResult> {
  const domains = [...new Set(input.domains.map((d) => normaliseDomainName(d)))];
  const until = ctx.clock.now();
  const since = until - input.sinceMs;
  const reasons = new Map<string, Set<string>>();
  const clients = new Set<string>();
  const evidence: HuntEvidence[] = [];
  let truncated = false;
  if (domains.length > 0) {
    const rows = await ctx.db
      .selectFrom('dns_queries')
      .selectAll()
      .where('at', '>=', since)
      .where((eb) => eb.or(domains.flatMap((d) => [eb('name', '=', d), sql<boolean>`name like ${`%.${escapeLike(d)}`} escape '\\'`])))
      .orderBy('id')
      .limit(EVIDENCE_LIMIT * 10)
      .execute();
    for (const row of rows) {
      clients.add(row.client);
      addReason(reasons, row.user_id, `resolved ${row.name} (${row.verdict})`);
      if (evidence.length < EVIDENCE_LIMIT) {
        evidence.push({ source: 'dns_queries', ref: Number(row.id), at: Number(row.at), type: row.type, outcome: row.verdict, code: row.reason, userId: row.user_id, ip: row.client, detail: { name: row.name, protocol: row.protocol } });
      } else truncated = true;
    }
    truncated ||= rows.length === EVIDENCE_LIMIT * 10;
  }
  // The query log stores whatever the gateway attributed the query to: a user id, or an email for
  // tokens named after one. Resolve emails to ids so containment works on both.
  const byEmail = [...reasons.keys()].filter((k) => k.includes('@'));
  if (byEmail.length > 0) {
    const found = await ctx.db.selectFrom('users').select(['id', 'email']).where('email', 'in', byEmail).execute();
    for (const row of found) for (const reason of reasons.get(row.email) ?? []) addReason(reasons, row.id, reason);
    for (const email of byEmail) reasons.delete(email);
  }
  const users = await usersWithReasons(ctx, reasons);
  return {
    hunt: 'resolved-domain',
    params: { domains, sinceMs: input.sinceMs },
    window: { since, until },
    users,
    sessions: await liveSessionsOf(ctx, users.map((u) => u.id)),
    evidence,
    clients: [...clients].sort(),
    truncated,
  };
}
