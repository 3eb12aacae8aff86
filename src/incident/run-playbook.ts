import { GatehouseError } from '../lib/errors.js';
import type { StepName } from './incident-types.js';
import type { PlaybookDeps, StepContext } from './playbook-context.js';
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
  const owner = deps.random.uuid();
  if (!(await deps.repository.claimLease(incidentId, owner, LEASE_MS, options.takeover ?? false))) {
    const incident = await deps.repository.get(incidentId);
    throw new GatehouseError('incident_busy', {
      status: 409,
      publicMessage: `Incident ${incident.id} is being run by another process. Wait, or resume with takeover if that process died.`,
      detail: 'playbook lease held',
    });
  }
  const run: PlaybookRun = { incidentId, state: 'incomplete', ran: [], skipped: [], failed: [] };
  try {
    const incident = await deps.repository.get(incidentId);
    const ctx: StepContext = { deps, incident, actor: `incident:${incident.id}`, reason: `incident ${incident.id}: ${incident.title}`.slice(0, 300) };
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
