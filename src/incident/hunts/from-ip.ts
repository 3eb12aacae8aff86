import { compileIpMatcher } from '../../lib/ip/ip-matcher.js';
import { canonicalCidr, singleHostOf } from '../indicators.js';
import { addReason, EVIDENCE_LIMIT, parseDetail, toHuntSession, usersWithReasons, type HuntContext, type HuntEvidence, type HuntResult } from './hunt-result.js';

const PAGE = 5000;

/**
 * Everything recorded from the given addresses (CIDRs allowed) within the window: sign-ins, step-ups,
 * enrollments, access denials; and the live sessions opened from them. Matching is done in process
 * with the access layer's CIDR semantics (IPv4-mapped IPv6 folded), so both engines agree.
 */
export async function huntFromIp(ctx: HuntContext, input: { ips: readonly string[]; sinceMs: number }): Promise<HuntResult> {
  const cidrs = input.ips.map(canonicalCidr);
  const matches = compileIpMatcher(cidrs);
  // Single addresses narrow the scan in SQL (the common case: a relay's few addresses); ranges are
  // matched in process over the window.
  const singles = cidrs.map(singleHostOf);
  const hosts = singles.every((host) => host !== undefined) ? (singles as string[]) : undefined;
  const until = ctx.clock.now();
  const since = until - input.sinceMs;
  const reasons = new Map<string, Set<string>>();
  const evidence: HuntEvidence[] = [];
  let truncated = false;
  let cursor = 0;
  for (;;) {
    let query = ctx.db
      .selectFrom('audit_events')
      .select(['seq', 'at', 'type', 'outcome', 'code', 'user_id', 'ip', 'detail'])
      .where('seq', '>', cursor)
      .where('at', '>=', since)
      .where('ip', 'is not', null);
    if (hosts) query = query.where('ip', 'in', hosts);
    const rows = await query.orderBy('seq').limit(PAGE).execute();
    for (const row of rows) {
      if (!matches(row.ip!)) continue;
      addReason(reasons, row.user_id, `${row.type} ${row.outcome}${row.code ? ` (${row.code})` : ''} from ${row.ip}`);
      if (evidence.length < EVIDENCE_LIMIT) {
        evidence.push({ source: 'audit', ref: Number(row.seq), at: Number(row.at), type: row.type, outcome: row.outcome, code: row.code, userId: row.user_id, ip: row.ip, detail: parseDetail(row.detail) });
      } else truncated = true;
    }
    if (rows.length < PAGE) break;
    cursor = Number(rows.at(-1)!.seq);
  }

  let sessionQuery = ctx.db
    .selectFrom('sessions')
    .select(['id_hash', 'user_id', 'ip', 'amr', 'phishing_resistant_at', 'created_at', 'last_seen_at'])
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', until);
  if (hosts) sessionQuery = sessionQuery.where('ip', 'in', hosts);
  const sessionRows = await sessionQuery.execute();
  const sessions = sessionRows.filter((row) => matches(row.ip)).map(toHuntSession);
  for (const session of sessions) addReason(reasons, session.userId, `live session from ${session.ip}`);
  return {
    hunt: 'from-ip',
    params: { ips: cidrs, sinceMs: input.sinceMs },
    window: { since, until },
    users: await usersWithReasons(ctx, reasons),
    sessions,
    evidence,
    truncated,
  };
}
