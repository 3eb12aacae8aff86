import { GatehouseError } from '../lib/errors.js';
import type { StepName } from './incident-types.js';
import type { PlaybookDeps, StepContext } from './playbook-context.js';
import { holderIsDead, leaseHolderOf, leaseOwnerOf } from './playbook-runner.js';
import { PLAYBOOK } from './steps/index.js';

const LEASE_MS = 60_000;

export interface PlaybookRun {
  incidentId: string;
  state: 'complete' | 'incomplete';
  ran: StepName[];
  skipped: StepName[];
  failed: { step: StepName; error: string }[];
}

/**
 * Runs (or resumes) an incident's playbook. Steps already `done` are skipped; a failed step is
 * recorded and the independent steps still run (a dead mail server must not delay revocation);
 * steps that depend on a failed one stay pending for `incident resume`. One runner at a time: the
 * lease is taken atomically, or taken over explicitly after a crash.
 */
export async function runPlaybook(deps: PlaybookDeps, incidentId: string, options: { takeover?: boolean } = {}): Promise<PlaybookRun> {
  const owner = leaseOwnerOf(deps.runner, deps.random.uuid());
  if (!(await deps.repository.claimLease(incidentId, owner, LEASE_MS, options.takeover ?? false))) await claimFromHolder(deps, incidentId, owner);
  const run: PlaybookRun = { incidentId, state: 'incomplete', ran: [], skipped: [], failed: [] };
  try {
    const incident = await deps.repository.get(incidentId);
    const ctx: StepContext = { deps, incident, actor: `incident:${incident.id}`, reason: `incident ${incident.id}: ${incident.title}`.slice(0, 300) };
    await deps.repository.addMissingSteps(incidentId);
    const steps = await deps.repository.steps(incidentId);
    const notDone = new Set<StepName>();
    const execute = async (step: (typeof PLAYBOOK)[number]): Promise<void> => {
      await deps.repository.claimLease(incidentId, owner, LEASE_MS, false);
      await deps.repository.markStepRunning(incidentId, step.name, (steps.get(step.name)?.attempts ?? 0) + 1);
      try {
        const result = await step.run(ctx);
        await deps.repository.markStepEnded(incidentId, step.name, { status: 'done', result });
        run.ran.push(step.name);
      } catch (error) {
        const message = error instanceof GatehouseError ? `${error.code}: ${error.detail ?? error.publicMessage}` : error instanceof Error ? error.message : String(error);
        const partial = (error as { result?: Record<string, unknown> }).result;
        await deps.repository.markStepEnded(incidentId, step.name, { status: 'failed', error: message, ...(partial ? { result: partial } : {}) });
        notDone.add(step.name);
        run.failed.push({ step: step.name, error: message });
        deps.logger.error({ incident: incidentId, step: step.name, err: message }, 'incident playbook step failed');
      }
    };
    // A step that depends on nothing and takes long (revoking everyone's sessions) starts at once,
    // beside the others; the timeline records its real start and end.
    const early = new Map<StepName, Promise<void>>();
    for (const step of PLAYBOOK) {
      if (steps.get(step.name)?.status !== 'done' && step.startsEarly?.(incident.options)) {
        early.set(step.name, execute(step).then(() => deps.hooks.afterStep?.(step.name)));
      }
    }
    try {
      for (const step of PLAYBOOK) {
        if (steps.get(step.name)?.status === 'done') {
          run.skipped.push(step.name);
          continue;
        }
        // An early step runs on beside the rest: the steps after it in the list (re-enrolment,
        // warnings) must not wait for the large revocation to finish.
        if (early.has(step.name)) continue;
        const blockedBy = step.dependsOn(incident.options).filter((d) => notDone.has(d));
        if (blockedBy.length > 0) {
          notDone.add(step.name);
          await deps.repository.markStepEnded(incidentId, step.name, { status: 'pending', error: `waiting for ${blockedBy.join(', ')}` });
          continue;
        }
        await execute(step);
        await deps.hooks.afterStep?.(step.name);
      }
    } finally {
      await Promise.allSettled(early.values());
    }
    run.state = notDone.size === 0 ? 'complete' : 'incomplete';
    await deps.audit.record({
      type: 'incident.playbook',
      outcome: run.state === 'complete' ? 'success' : 'failure',
      ...(run.state === 'complete' ? {} : { code: 'incident_incomplete' }),
      actor: ctx.actor,
      detail: { incident: incidentId, ran: run.ran, skipped: run.skipped, failed: run.failed },
    });
    return run;
  } finally {
    await deps.repository.releaseLease(incidentId, owner, run.state).catch(() => {});
  }
}

/**
 * The lease is held and was not taken over. A holder that ran on this host and whose process is gone
 * crashed (kill -9, OOM, a closed terminal): its lease is taken from it at once, by name, and the
 * takeover is audited. Anyone else gets `incident_busy` naming the holder, when its lease runs out
 * and the command that takes over, because the lease is renewed before every step and a responder
 * must not wait a minute to learn that.
 */
async function claimFromHolder(deps: PlaybookDeps, incidentId: string, owner: string): Promise<void> {
  const incident = await deps.repository.get(incidentId);
  const lease = await deps.repository.lease(incidentId);
  if (!lease) {
    // Released between the failed claim and this read: one more ordinary claim.
    if (await deps.repository.claimLease(incidentId, owner, LEASE_MS, false)) return;
  } else {
    const holder = leaseHolderOf(lease.owner);
    if (holderIsDead(deps.runner, holder) && (await deps.repository.takeLeaseFrom(incidentId, lease.owner, owner, LEASE_MS))) {
      await deps.audit.record({
        type: 'incident.lease_taken_over',
        outcome: 'success',
        actor: `incident:${incidentId}`,
        detail: { incident: incidentId, reason: 'holder_process_gone', holder: { host: holder!.host, pid: holder!.pid } },
      });
      deps.logger.warn({ incident: incidentId, holder }, 'incident playbook runner had died; its lease was taken over');
      return;
    }
  }
  const current = await deps.repository.lease(incidentId);
  const named = current ? leaseHolderOf(current.owner) : undefined;
  const who = named ? `process ${named.pid} on ${named.host}` : 'another process';
  const until = current ? ` Its lease runs out at ${new Date(current.until).toISOString()} unless renewed (it is renewed before every step).` : '';
  throw new GatehouseError('incident_busy', {
    status: 409,
    publicMessage: `Incident ${incident.id} is being run by ${who}.${until} If that process has died, run: gatehouse incident resume ${incident.id} --takeover`,
    detail: `playbook lease held by ${current?.owner ?? 'unknown'}`,
  });
}
