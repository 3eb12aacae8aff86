import type { Indicators } from './indicators.js';

/** The playbook, in order. Each step is idempotent; its state is persisted so a run can resume. */
export const STEP_NAMES = ['block_domains', 'block_ips', 'hunt', 'revoke_sessions', 'force_reenrollment', 'notify', 'export_stix'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface IncidentOptions {
  /** Revoke every session of every user, not only the contained users'. */
  allSessions: boolean;
  /** The password-without-key (and other) hunt window, ms. */
  huntWindowMs: number;
  /** Turn on strict new-domain isolation with the domain blocks. */
  strictNewDomains: boolean;
}

export interface DeclareInput {
  title: string;
  domains?: readonly string[];
  ips?: readonly string[];
  urls?: readonly string[];
  /** Emails of users known to be affected. */
  users?: readonly string[];
  allSessions?: boolean;
  /** Hunt window, e.g. `24h`; default incident.hunt_window_hours. */
  since?: string;
}

export interface IncidentRecord {
  id: string;
  title: string;
  status: 'open' | 'closed';
  runState: 'pending' | 'running' | 'complete' | 'incomplete';
  indicators: Indicators;
  options: IncidentOptions;
  declaredAt: number;
  declaredBy: string;
  closedAt: number | undefined;
  closedBy: string | undefined;
  closeNote: string | undefined;
}

export interface TimelineEntry {
  step: StepName;
  status: 'pending' | 'running' | 'done' | 'failed';
  attempts: number;
  startedAt: number | undefined;
  endedAt: number | undefined;
  /** From declaration to the end of this step, ms. */
  sinceDeclarationMs: number | undefined;
  durationMs: number | undefined;
  /** What the step did (counts, names), as recorded. */
  result: Record<string, unknown> | undefined;
  error: string | undefined;
}

export interface ContainedUser {
  userId: string;
  email: string;
  sources: string[];
}

export interface IncidentView extends IncidentRecord {
  timeline: TimelineEntry[];
  users: ContainedUser[];
  outbox: Record<string, number>;
  stix: unknown;
}
