import { addReason, EVIDENCE_LIMIT, liveSessionsOf, parseDetail, usersWithReasons, type HuntContext, type HuntEvidence, type HuntResult } from './hunt-result.js';

/**
 * Failure codes that legacySignIn (src/identity/sign-in.ts) only reaches after the password was
 * verified: the password is known to whoever typed it, even though no session was issued. Not
 * `legacy_downgrade_refused`: a key holder is refused before the password is checked, so that code
 * says nothing about whether the password was right.
 */
const PASSWORD_PROVEN_FAILURES = ['bad_totp', 'user_disabled'];
const PASSWORD_METHODS = new Set(['password', 'password+totp']);
/** Events that carry a WebAuthn proof bound to our origin (a key's activation is an assertion). */
const PHISHING_RESISTANT_TYPES = ['sign_in', 'step_up', 'enrollment', 'key.added'];

/**
 * The "unverified 2FA" scan after the 2022 relay: users who passed a password (or password+TOTP)
 * step within the window but gave no phishing-resistant proof in it. A relay can replay a password
 * and a TOTP code; it cannot replay a WebAuthn assertion, so these are the accounts whose factors
 * must be assumed stolen.
 */
export async function huntPasswordWithoutKey(ctx: HuntContext, input: { sinceMs: number }): Promise<HuntResult> {
  const until = ctx.clock.now();
  const since = until - input.sinceMs;
  const rows = await ctx.db
    .selectFrom('audit_events')
    .select(['seq', 'at', 'type', 'outcome', 'code', 'user_id', 'ip', 'detail'])
    .where('at', '>=', since)
    .where('at', '<=', until)
    .where('user_id', 'is not', null)
    .where((eb) =>
      eb.or([
        eb.and([eb('type', '=', 'sign_in'), eb('outcome', '=', 'success')]),
        eb.and([eb('type', '=', 'sign_in'), eb('outcome', '=', 'failure'), eb('code', 'in', PASSWORD_PROVEN_FAILURES)]),
        eb.and([eb('type', 'in', PHISHING_RESISTANT_TYPES), eb('outcome', '=', 'success')]),
      ]),
    )
    .orderBy('seq')
    .execute();

  const passwordEvents = new Map<string, HuntEvidence[]>();
  const provedWithKey = new Set<string>();
  for (const row of rows) {
    const detail = parseDetail(row.detail);
    const userId = row.user_id!;
    const method = typeof detail.method === 'string' ? detail.method : '';
    if (row.outcome === 'success' && (row.type !== 'sign_in' || method === 'webauthn')) {
      provedWithKey.add(userId);
      continue;
    }
    const passwordStep = row.outcome === 'success' ? PASSWORD_METHODS.has(method) : method === 'password';
    if (!passwordStep) continue;
    const list = passwordEvents.get(userId) ?? [];
    list.push({ source: 'audit', ref: Number(row.seq), at: Number(row.at), type: row.type, outcome: row.outcome, code: row.code, userId, ip: row.ip, detail });
    passwordEvents.set(userId, list);
  }

  const reasons = new Map<string, Set<string>>();
  const evidence: HuntEvidence[] = [];
  for (const [userId, events] of passwordEvents) {
    if (provedWithKey.has(userId)) continue;
    for (const event of events) {
      addReason(reasons, userId, event.outcome === 'success' ? `signed in with ${String((event.detail as { method?: string }).method)}` : `password right (${event.code})`);
      evidence.push(event);
    }
  }
  evidence.sort((a, b) => (a.ref ?? 0) - (b.ref ?? 0));
  const users = await usersWithReasons(ctx, reasons);
  return {
    hunt: 'password-without-key',
    params: { sinceMs: input.sinceMs },
    window: { since, until },
    users,
    sessions: await liveSessionsOf(ctx, users.map((u) => u.id)),
    evidence: evidence.slice(0, EVIDENCE_LIMIT),
    truncated: evidence.length > EVIDENCE_LIMIT,
  };
}
