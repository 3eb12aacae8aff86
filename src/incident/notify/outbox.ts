import type { Kysely } from 'kysely';
import type { Clock } from '../../lib/clock.js';
import type { Database } from '../../store/index.js';

export type OutboxChannel = 'email' | 'webhook';

export interface OutboxItem {
  key: string;
  channel: OutboxChannel;
  kind: string;
  recipient: string;
  payload: Record<string, unknown>;
}

export interface OutboxRow extends OutboxItem {
  incidentId: string;
  attempts: number;
}

/** Sends one item; throws when it was not accepted. */
export type Deliver = (item: OutboxRow) => Promise<void>;

export interface DeliveryReport {
  sent: number;
  alreadySent: number;
  failed: { key: string; error: string }[];
}

const BATCH = 500;
const ATTEMPTS_PER_RUN = 3;

/**
 * The notification outbox: every message is a row with a unique key (incident, channel, recipient),
 * inserted with ON CONFLICT DO NOTHING, so enqueueing twice is harmless. Delivery claims a row
 * (`sending`), sends, then marks it `sent`: a resumed run only delivers what is not `sent`. A crash
 * between the send and the mark leaves `sending`; the resumed run sends it again with the same key
 * (Message-ID / Idempotency-Key), the one window where a receiver may see a message twice.
 */
export class Outbox {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async enqueue(incidentId: string, items: readonly OutboxItem[]): Promise<number> {
    let added = 0;
    const now = this.clock.now();
    for (let i = 0; i < items.length; i += BATCH) {
      const rows = items.slice(i, i + BATCH).map((item) => ({
        key: item.key,
        incident_id: incidentId,
        channel: item.channel,
        kind: item.kind,
        recipient: item.recipient,
        payload: JSON.stringify(item.payload),
        status: 'pending' as const,
        attempts: 0,
        created_at: now,
        claimed_at: null,
        sent_at: null,
        last_error: null,
      }));
      const inserted = await this.db.insertInto('incident_outbox').values(rows).onConflict((oc) => oc.column('key').doNothing()).returning('key').execute();
      added += inserted.length;
    }
    return added;
  }

  async counts(incidentId: string): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('incident_outbox')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('incident_id', '=', incidentId)
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  /**
   * Delivers every unsent item of the incident through `deliver` with `concurrency` in flight.
   * `onDelivered` runs after an item is marked sent (tests crash the process there).
   */
  async deliverPending(incidentId: string, kind: string | undefined, deliver: Deliver, options: { concurrency: number; onDelivered?: (key: string) => void }): Promise<DeliveryReport> {
    const report: DeliveryReport = { sent: 0, alreadySent: 0, failed: [] };
    const failedThisRun = new Map<string, number>();
    for (;;) {
      let query = this.db.selectFrom('incident_outbox').selectAll().where('incident_id', '=', incidentId).where('status', 'in', ['pending', 'sending']);
      if (kind !== undefined) query = query.where('kind', '=', kind);
      const rows = await query.orderBy('key').limit(BATCH).execute();
      const todo = rows.filter((row) => (failedThisRun.get(row.key) ?? 0) < ATTEMPTS_PER_RUN);
      if (todo.length === 0) break;
      let next = 0;
      const worker = async () => {
        while (next < todo.length) {
          const row = todo[next++]!;
          const item: OutboxRow = { incidentId: row.incident_id, key: row.key, channel: row.channel, kind: row.kind, recipient: row.recipient, payload: JSON.parse(row.payload) as Record<string, unknown>, attempts: Number(row.attempts) };
          await this.db.updateTable('incident_outbox').set({ status: 'sending', claimed_at: this.clock.now(), attempts: Number(row.attempts) + 1 }).where('key', '=', row.key).execute();
          try {
            await deliver(item);
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            const tries = (failedThisRun.get(row.key) ?? 0) + 1;
            failedThisRun.set(row.key, tries);
            await this.db.updateTable('incident_outbox').set({ status: 'pending', last_error: message.slice(0, 500) }).where('key', '=', row.key).execute();
            if (tries >= ATTEMPTS_PER_RUN) report.failed.push({ key: row.key, error: message.slice(0, 200) });
            continue;
          }
          await this.db.updateTable('incident_outbox').set({ status: 'sent', sent_at: this.clock.now(), last_error: null }).where('key', '=', row.key).execute();
          report.sent++;
          options.onDelivered?.(row.key);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, todo.length)) }, worker));
    }
    let sent = this.db.selectFrom('incident_outbox').select((eb) => eb.fn.countAll<number>().as('n')).where('incident_id', '=', incidentId).where('status', '=', 'sent');
    if (kind !== undefined) sent = sent.where('kind', '=', kind);
    report.alreadySent = Number((await sent.executeTakeFirst())?.n ?? 0) - report.sent;
    return report;
  }
}
