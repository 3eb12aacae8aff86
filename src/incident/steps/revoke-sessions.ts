import type { PlaybookStep } from './playbook-step.js';

const CHUNK = 500;

/**
 * Kills sessions: everyone's with --all-sessions (one UPDATE, one feed row), otherwise the contained
 * users', a batch at a time. Each batch's revocation, its feed row and its audit event commit in one
 * transaction, and every instance evicts its cache when NOTIFY wakes it. Revoking a revoked session
 * is a no-op: idempotent.
 */
export const revokeSessionsStep: PlaybookStep = {
  name: 'revoke_sessions',
  dependsOn: (options) => (options.allSessions ? [] : ['hunt']),
  // Everyone's sessions: one large UPDATE that needs no hunt result, so it runs beside the others.
  startsEarly: (options) => options.allSessions,
  async run({ deps, incident, actor, reason }) {
    const { sessions } = deps.identity;
    if (incident.options.allSessions) {
      // Not inside one transaction: revokeAll commits its cut-off (which every instance enforces at once)
      // before the bulk row update, and a caller's transaction would hold the cut-off back until the end.
      const revoked = await sessions.revokeAll(reason);
      await deps.audit.record({ type: 'session.revoked', outcome: 'success', actor, detail: { sessions: revoked, reason, scope: 'all', incident: incident.id } });
      return { scope: 'all', revoked };
    }
    const users = await deps.repository.users(incident.id);
    let revoked = 0;
    for (let i = 0; i < users.length; i += CHUNK) {
      const ids = users.slice(i, i + CHUNK).map((u) => u.userId);
      revoked += await deps.store.db.transaction().execute(async (trx) => {
        const count = await sessions.revokeUsers(ids, reason, trx);
        await deps.audit.record({ type: 'session.revoked', outcome: 'success', actor, detail: { sessions: count, users: ids.length, reason, scope: 'incident', incident: incident.id } }, trx);
        return count;
      });
    }
    return { scope: 'contained users', users: users.length, revoked };
  },
};
