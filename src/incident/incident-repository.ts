import type { Kysely } from 'kysely';
import type { Clock } from '../lib/clock.js';
import { NotFoundError } from '../lib/errors.js';
import type { Database } from '../store/index.js';
import { indicatorsOf, type Indicators } from './indicators.js';
import { STEP_NAMES, type ContainedUser, type IncidentOptions, type IncidentRecord, type StepName, type TimelineEntry } from './incident-types.js';

type IncidentRow = Database['incidents'];

function toRecord(row: IncidentRow): IncidentRecord {
  return {
    id: row.id,
    title: row.title,
    status: row.status,
    runState: row.run_state,
    indicators: indicatorsOf(JSON.parse(row.indicators) as Partial<Indicators>),
    options: JSON.parse(row.options) as IncidentOptions,
    declaredAt: Number(row.declared_at),
    declaredBy: row.declared_by,
    closedAt: row.closed_at === null ? undefined : Number(row.closed_at),
    closedBy: row.closed_by ?? undefined,
    closeNote: row.close_note ?? undefined,
  };
}

/** Rows of incidents, their steps and contained users. No policy here: the playbook decides. */
export class IncidentRepository {
  constructor(
    readonly db: Kysely<Database>,
    private readonly clock: Clock,
  ) {}

  async create(record: Omit<IncidentRecord, 'status' | 'runState' | 'closedAt' | 'closedBy' | 'closeNote'>, trx: Kysely<Database>): Promise<void> {
    await trx
      .insertInto('incidents')
      .values({
        id: record.id,
        title: record.title,
        status: 'open',
        run_state: 'pending',
        indicators: JSON.stringify(record.indicators),
        options: JSON.stringify(record.options),
        declared_at: record.declaredAt,
        declared_by: record.declaredBy,
        closed_at: null,
        closed_by: null,
        close_note: null,
        lease_owner: null,
        lease_until: null,
        stix: null,
      })
      .execute();
    await trx
      .insertInto('incident_steps')
      .values(STEP_NAMES.map((name, position) => ({ incident_id: record.id, name, position, status: 'pending' as const, attempts: 0, started_at: null, ended_at: null, result: null, error: null })))
      .execute();
  }

  async get(id: string): Promise<IncidentRecord> {
    const row = await this.db.selectFrom('incidents').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new NotFoundError(`incident ${id.slice(0, 60)}`, 'incident_not_found');
    return toRecord(row);
  }

  async list(filter: { status?: 'open' | 'closed'; limit?: number } = {}): Promise<IncidentRecord[]> {
    let query = this.db.selectFrom('incidents').selectAll().orderBy('declared_at', 'desc').limit(Math.min(filter.limit ?? 100, 1000));
    if (filter.status) query = query.where('status', '=', filter.status);
    return (await query.execute()).map(toRecord);
  }

  /**
   * One runner at a time per incident, across processes: the lease is taken only when free or
   * expired (or on an explicit takeover after a crash), and renewed before each step.
   */
  async claimLease(id: string, owner: string, ttlMs: number, takeover: boolean): Promise<boolean> {
    const now = this.clock.now();
    let query = this.db.updateTable('incidents').set({ lease_owner: owner, lease_until: now + ttlMs, run_state: 'running' }).where('id', '=', id);
    if (!takeover) query = query.where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]));
    const result = await query.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** The current lease, if any (for telling the responder who holds it and until when). */
  async lease(id: string): Promise<{ owner: string; until: number } | undefined> {
    const row = await this.db.selectFrom('incidents').select(['lease_owner', 'lease_until']).where('id', '=', id).executeTakeFirst();
    if (!row || row.lease_owner === null || row.lease_until === null) return undefined;
    return { owner: row.lease_owner, until: Number(row.lease_until) };
  }

  /** Takes the lease from one named holder only: two responders taking over a dead runner cannot both win. */
  async takeLeaseFrom(id: string, previousOwner: string, owner: string, ttlMs: number): Promise<boolean> {
    const result = await this.db
      .updateTable('incidents')
      .set({ lease_owner: owner, lease_until: this.clock.now() + ttlMs, run_state: 'running' })
      .where('id', '=', id)
      .where('lease_owner', '=', previousOwner)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async releaseLease(id: string, owner: string, runState: IncidentRecord['runState']): Promise<void> {
    await this.db.updateTable('incidents').set({ lease_owner: null, lease_until: null, run_state: runState }).where('id', '=', id).where('lease_owner', '=', owner).execute();
  }

  /**
   * Gives an incident declared before a step existed that step's row (pending), so a resumed run
   * records it like any other. Idempotent; returns the steps added. Only a run calls this: showing an
   * incident writes nothing.
   */
  async addMissingSteps(id: string): Promise<StepName[]> {
    const present = new Set((await this.db.selectFrom('incident_steps').select('name').where('incident_id', '=', id).execute()).map((r) => r.name));
    const missing = STEP_NAMES.filter((name) => !present.has(name));
    if (missing.length === 0) return [];
    await this.db
      .insertInto('incident_steps')
      .values(missing.map((name) => ({ incident_id: id, name, position: STEP_NAMES.indexOf(name), status: 'pending' as const, attempts: 0, started_at: null, ended_at: null, result: null, error: null })))
      .onConflict((oc) => oc.columns(['incident_id', 'name']).doNothing())
      .execute();
    return missing;
  }

  async steps(id: string): Promise<Map<StepName, TimelineEntry>> {
    const declared = (await this.get(id)).declaredAt;
    const rows = await this.db.selectFrom('incident_steps').selectAll().where('incident_id', '=', id).execute();
    // In playbook order, not by the stored position: a step added later (first in the order) is stored
    // with a position its incident's older rows may also have.
    const order = (name: string) => {
      const index = (STEP_NAMES as readonly string[]).indexOf(name);
      return index < 0 ? STEP_NAMES.length : index;
    };
    rows.sort((a, b) => order(a.name) - order(b.name));
    return new Map(
      rows.map((row) => {
        const startedAt = row.started_at === null ? undefined : Number(row.started_at);
        const endedAt = row.ended_at === null ? undefined : Number(row.ended_at);
        const entry: TimelineEntry = {
          step: row.name as StepName,
          status: row.status,
          attempts: Number(row.attempts),
          startedAt,
          endedAt,
          sinceDeclarationMs: endedAt === undefined ? undefined : endedAt - declared,
          durationMs: startedAt !== undefined && endedAt !== undefined ? endedAt - startedAt : undefined,
          result: row.result === null ? undefined : (JSON.parse(row.result) as Record<string, unknown>),
          error: row.error ?? undefined,
        };
        return [entry.step, entry];
      }),
    );
  }

  async markStepRunning(id: string, step: StepName, attempts: number): Promise<void> {
    const now = this.clock.now();
    await this.db.updateTable('incident_steps').set({ status: 'running', attempts, error: null }).where('incident_id', '=', id).where('name', '=', step).execute();
    // The first start is the one the timeline shows; a resumed attempt keeps it.
    await this.db.updateTable('incident_steps').set({ started_at: now }).where('incident_id', '=', id).where('name', '=', step).where('started_at', 'is', null).execute();
  }

  async markStepEnded(id: string, step: StepName, outcome: { status: 'done' | 'failed' | 'pending'; result?: Record<string, unknown>; error?: string }): Promise<void> {
    await this.db
      .updateTable('incident_steps')
      .set({
        status: outcome.status,
        ended_at: outcome.status === 'pending' ? null : this.clock.now(),
        ...(outcome.result ? { result: JSON.stringify(outcome.result) } : {}),
        error: outcome.error?.slice(0, 1000) ?? null,
      })
      .where('incident_id', '=', id)
      .where('name', '=', step)
      .execute();
  }

  /** Adds contained users (idempotent); returns how many were new. */
  async addUsers(id: string, users: ReadonlyMap<string, readonly string[]>, db: Kysely<Database> = this.db): Promise<number> {
    let added = 0;
    const now = this.clock.now();
    const entries = [...users];
    for (let i = 0; i < entries.length; i += 500) {
      const rows = entries.slice(i, i + 500).map(([userId, sources]) => ({ incident_id: id, user_id: userId, sources: JSON.stringify([...new Set(sources)].sort()), added_at: now }));
      const inserted = await db.insertInto('incident_users').values(rows).onConflict((oc) => oc.columns(['incident_id', 'user_id']).doNothing()).returning('user_id').execute();
      added += inserted.length;
    }
    return added;
  }

  async users(id: string): Promise<ContainedUser[]> {
    const rows = await this.db
      .selectFrom('incident_users')
      .leftJoin('users', 'users.id', 'incident_users.user_id')
      .select(['incident_users.user_id', 'incident_users.sources', 'users.email'])
      .where('incident_users.incident_id', '=', id)
      .orderBy('users.email')
      .execute();
    return rows.map((row) => ({ userId: row.user_id, email: row.email ?? '(deleted user)', sources: JSON.parse(row.sources) as string[] }));
  }

  async setStix(id: string, bundle: unknown): Promise<void> {
    await this.db.updateTable('incidents').set({ stix: JSON.stringify(bundle) }).where('id', '=', id).execute();
  }

  async stix(id: string): Promise<unknown> {
    const row = await this.db.selectFrom('incidents').select('stix').where('id', '=', id).executeTakeFirst();
    return row?.stix ? (JSON.parse(row.stix) as unknown) : undefined;
  }

  async close(id: string, input: { actor: string; note?: string }, trx: Kysely<Database>): Promise<boolean> {
    const result = await trx
      .updateTable('incidents')
      .set({ status: 'closed', closed_at: this.clock.now(), closed_by: input.actor, close_note: input.note?.slice(0, 2000) ?? null })
      .where('id', '=', id)
      .where('status', '=', 'open')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
