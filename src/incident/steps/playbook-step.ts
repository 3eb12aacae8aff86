import type { IncidentOptions, StepName } from '../incident-types.js';
import type { StepContext } from '../playbook-context.js';

/** One containment step: idempotent, so a resumed run may repeat the part that crashed. */
export interface PlaybookStep {
  name: StepName;
  /** Steps whose failure leaves this one pending (run again on resume). */
  dependsOn(options: IncidentOptions): StepName[];
  /** Starts with the first step, beside the others (it depends on nothing and takes long). */
  startsEarly?(options: IncidentOptions): boolean;
  run(ctx: StepContext): Promise<Record<string, unknown>>;
}
