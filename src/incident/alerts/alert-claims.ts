import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';

/**
 * Claims the right to raise an alert, once per key and cooldown across every instance sharing the
 * database: the insert (or the update of an expired claim) succeeds for exactly one caller.
 */
export async function claimAlert(db: Kysely<Database>, clock: Clock, key: string, cooldownMs: number): Promise<boolean> {
  const now = clock.now();
  const row = await db
    .insertInto('incident_alerts')
    .values({ key: key.slice(0, 300), first_at: now, last_at: now, count: 1, incident_id: null })
    .onConflict((oc) =>
      oc
        .column('key')
        .doUpdateSet((eb) => ({ last_at: now, count: eb('incident_alerts.count', '+', 1) }))
        // Floored: PostgreSQL reads the bound value as a bigint, and a fraction there is an error.
        .where('incident_alerts.last_at', '<=', Math.floor(now - cooldownMs)),
    )
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

/** Gives a claim back after the alert could not be delivered, so a later attempt may raise it. */
export async function releaseAlert(db: Kysely<Database>, key: string): Promise<void> {
  await db.deleteFrom('incident_alerts').where('key', '=', key.slice(0, 300)).execute();
}

export async function linkAlertToIncident(db: Kysely<Database>, key: string, incidentId: string): Promise<void> {
  await db.updateTable('incident_alerts').set({ incident_id: incidentId }).where('key', '=', key.slice(0, 300)).execute();
}
