import { addReason, EVIDENCE_LIMIT, liveSessionsOf, parseDetail, usersWithReasons, type HuntContext, type HuntEvidence, type HuntResult } from './hunt-result.js';

/**
 * The 2023 lesson: who became an administrator recently. Reads the `user.group_added` audit events and,
 * as the ground truth, the memberships themselves (a path that forgot to audit still shows up).
 */
export async function huntNewAdmins(ctx: HuntContext, input: { sinceMs: number }): Promise<HuntResult> {
  const until = ctx.clock.now();
  const since = until - input.sinceMs;
  const adminGroups = [...ctx.adminGroups];
  const reasons = new Map<string, Set<string>>();
  const evidence: HuntEvidence[] = [];
  if (adminGroups.length > 0) {
    const events = await ctx.db
      .selectFrom('audit_events')
      .select(['seq', 'at', 'type', 'outcome', 'code', 'user_id', 'actor', 'ip', 'detail'])
      .where('type', '=', 'user.group_added')
      .where('at', '>=', since)
      .orderBy('seq')
      .execute();
    for (const row of events) {
      const detail = parseDetail(row.detail);
      const groups = Array.isArray(detail.groups) ? detail.groups.map(String) : [];
      const admin = groups.filter((g) => adminGroups.includes(g));
      if (admin.length === 0) continue;
      addReason(reasons, row.user_id, `added to ${admin.join(', ')} by ${row.actor ?? 'unknown'}`);
      evidence.push({ source: 'audit', ref: Number(row.seq), at: Number(row.at), type: row.type, outcome: row.outcome, code: row.code, userId: row.user_id, ip: row.ip, detail: { ...detail, actor: row.actor } });
    }
    const memberships = await ctx.db
      .selectFrom('group_members')
      .select(['user_id', 'group_name', 'added_at'])
      .where('group_name', 'in', adminGroups)
      .where('added_at', '>=', since)
      .orderBy('added_at')
      .execute();
    for (const row of memberships) {
      addReason(reasons, row.user_id, `member of ${row.group_name} since ${new Date(Number(row.added_at)).toISOString()}`);
      evidence.push({ source: 'group_members', at: Number(row.added_at), type: 'membership', userId: row.user_id, detail: { group: row.group_name } });
    }
  }
  const users = await usersWithReasons(ctx, reasons);
  return {
    hunt: 'new-admins',
    params: { sinceMs: input.sinceMs, adminGroups },
    window: { since, until },
    users,
    sessions: await liveSessionsOf(ctx, users.map((u) => u.id)),
    evidence: evidence.slice(0, EVIDENCE_LIMIT),
    truncated: evidence.length > EVIDENCE_LIMIT,
  };
}
