import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';
import { pollEvery, type PollLoop } from './poll-loop.js';
import { claimAlert } from './alert-claims.js';

export interface AdminAddition {
  userId: string;
  email: string;
  group: string;
  addedAt: number;
  /** Who did it, from the `user.group_added` audit event when there is one. */
  actor: string | undefined;
}

/**
 * The 2023 lesson: a new administrator is an alert. Each instance looks at the admin groups'
 * memberships added since it last looked (whatever path added them: CLI, API, a direct SQL insert);
 * the database claim makes exactly one instance raise each alert.
 */
export function watchAdminGroups(options: {
  db: Kysely<Database>;
  clock: Clock;
  intervalMs: number;
  adminGroups: () => readonly string[];
  onAddition: (addition: AdminAddition) => Promise<void>;
  onError: (error: unknown) => void;
}): PollLoop {
  const { db, clock } = options;
  let watermark = clock.now() - options.intervalMs;

  const check = async () => {
    const groups = [...options.adminGroups()];
    if (groups.length === 0) return;
    const rows = await db
      .selectFrom('group_members')
      .innerJoin('users', 'users.id', 'group_members.user_id')
      .select(['group_members.user_id', 'group_members.group_name', 'group_members.added_at', 'users.email'])
      .where('group_members.group_name', 'in', groups)
      .where('group_members.added_at', '>=', watermark)
      .orderBy('group_members.added_at')
      .limit(1000)
      .execute();
    for (const row of rows) {
      const addedAt = Number(row.added_at);
      watermark = Math.max(watermark, addedAt);
      // Once per membership, for ever (a cooldown longer than any retention).
      if (!(await claimAlert(db, clock, `admin-added:${row.user_id}:${row.group_name}:${addedAt}`, Number.MAX_SAFE_INTEGER / 2))) continue;
      const event = await db
        .selectFrom('audit_events')
        .select(['actor'])
        .where('type', '=', 'user.group_added')
        .where('user_id', '=', row.user_id)
        .where('at', '>=', addedAt - 5000)
        .orderBy('seq', 'desc')
        .executeTakeFirst();
      await options.onAddition({ userId: row.user_id, email: row.email, group: row.group_name, addedAt, actor: event?.actor ?? undefined });
    }
  };
  return pollEvery(options.intervalMs, check, options.onError);
}
