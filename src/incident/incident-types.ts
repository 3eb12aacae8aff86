import type { CampaignScope } from '../credentials/index.js';
import type { Indicators } from './indicators.js';

/**
 * The playbook, in order. Each step is idempotent; its state is persisted so a run can resume. A leaked
 * credential works for whoever holds it until it is revoked, so its revocation comes first. Incidents
 * declared before a step existed get its row when they are next run (see `IncidentRepository.addMissingSteps`).
 */
export const STEP_NAMES = ['revoke_credentials', 'block_domains', 'block_ips', 'hunt', 'revoke_sessions', 'force_reenrollment', 'notify', 'export_stix'] as const;
export type StepName = (typeof STEP_NAMES)[number];

export interface IncidentOptions {
  /** Revoke every session of every user, not only the contained users'. */
  allSessions: boolean;
  /** The password-without-key (and other) hunt window, ms. */
  huntWindowMs: number;
  /** Turn on strict new-domain isolation with the domain blocks. */
  strictNewDomains: boolean;
  /**
   * Start a rotation campaign over the named tokens and credentials, plus what the filters of `scope`
   * match. Absent: no campaign (and on incidents declared before campaigns could be started).
   */
  campaign?: { scope: CampaignScope } | undefined;
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
  /** Names of leaked service tokens: revoked at once. */
  tokens?: readonly string[];
  /** Inventory ids (or names) of leaked outside credentials. */
  credentials?: readonly string[];
  /** Start a rotation campaign over the named credentials. */
  campaign?: boolean;
  /** With `campaign`: a campaign scope (`system=github,kind=api_token`) whose matches join the named credentials. */
  campaignScope?: string;
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

/** The rotation campaign an incident started, and the commands that follow and drive it. */
export interface IncidentCampaign {
  id: string;
  items: number;
  follow: string;
  run: string;
}

/**
 * Something that happened to an incident outside its playbook (an abuse report drafted, sent,
 * acknowledged), shown on its timeline. Written by the capability that did it, read when the
 * incident is shown: the incident stores nothing of it.
 */
export interface IncidentEvent {
  /** When, if known (ms); an event without a time is shown last. */
  at: number | undefined;
  /** Who told (`takedown`, …). */
  source: string;
  summary: string;
}

/** Reads the events one capability knows of for an incident (its indicators say which are its). */
export type IncidentTimelineSource = (incident: IncidentRecord) => Promise<IncidentEvent[]>;

export interface IncidentView extends IncidentRecord {
  timeline: TimelineEntry[];
  /** Events beside the playbook, from the timeline sources, in time order. */
  events: IncidentEvent[];
  /** Set once the revoke_credentials step has started the campaign. */
  campaign: IncidentCampaign | undefined;
  users: ContainedUser[];
  outbox: Record<string, number>;
  stix: unknown;
}
