import { rotationError } from './rotation-error.js';
import type { RotationContext, RotationStaging, RotationTarget } from './rotator.js';

/** What the real system said to a secret: it logged in, it was refused as wrong, or neither (unreachable…). */
export interface LoginProbe {
  accepted: boolean;
  /** The system itself refused the secret (28P01, `Permission denied (publickey)`), as opposed to no answer. */
  refused: boolean;
  answer: string;
}

/** Where a rotation starts: afresh (perhaps after discarding a stale staged secret), or by delivering a staged one. */
export type WriteAheadStart = { recover: undefined; staleDiscarded: Buffer | undefined } | { recover: Buffer; staleDiscarded: undefined };

/** The staging a rotator must have before it may change a target; refuses, changing nothing, without it. */
export function requireStaging(who: string, context: RotationContext): RotationStaging {
  if (context.staging) return context.staging;
  throw rotationError(
    'rotation_staging_unavailable',
    `${who}: the sink cannot stage the new secret before the change (an exec sink needs staging_dir), and a crash before delivery would lose it`,
  );
}

/**
 * Decides, before anything changes, whether an earlier call was interrupted between changing the target
 * and delivering. The previous (delivered) secret still logging in means no change took: a staged
 * secret is stale and is discarded. The previous one refused while the staged one logs in means the
 * change took: that staged secret is the live one and must be delivered, never replaced by a third.
 * `previousNotAccepted` throws the rotator's own error when there is nothing to recover.
 */
export async function writeAheadStart(options: {
  who: string;
  target: RotationTarget;
  staging: RotationStaging;
  probePrevious(): Promise<LoginProbe>;
  probeStaged(staged: Buffer): Promise<LoginProbe>;
  previousNotAccepted(probe: LoginProbe): Error;
}): Promise<WriteAheadStart> {
  const { who, target, staging } = options;
  const staged = await staging.staged(target);
  const previous = await options.probePrevious();
  if (previous.accepted) {
    if (staged) await staging.discard(target);
    return { recover: undefined, staleDiscarded: staged };
  }
  if (!staged || !previous.refused) throw options.previousNotAccepted(previous);
  const candidate = await options.probeStaged(staged);
  if (candidate.accepted) return { recover: staged, staleDiscarded: undefined };
  if (!candidate.refused) {
    throw rotationError('rotation_probe_failed', `${who}: the login with the staged secret answered ${candidate.answer}, neither accepted nor refused`);
  }
  // Kept, not discarded: it is the only lead a person resetting the credential has.
  throw rotationError(
    'rotation_previous_and_staged_secret_refused',
    `${who}: neither the previous secret (${previous.answer}) nor the one staged by an interrupted rotation (${candidate.answer}) logs in; the credential was changed elsewhere and must be reset by hand`,
  );
}
