import { join } from 'node:path';
import { rotationError } from '../rotation-error.js';
import { rotationSinkFromConfig } from '../rotation-sink.js';
import type { RotationContext, RotationTarget } from '../rotator.js';

/**
 * The real directory sink, with faults injected through its interface at the two points a process can
 * die in a rotation: just after the write-ahead (before the target changes), and at the delivery (after
 * it changed). Each fault fires once, like a crash, and leaves the files exactly as that crash would.
 */
export function faultyDirectorySink(dir: string, faults: { crashAfterStage?: boolean; failDelivery?: boolean } = {}) {
  const sink = rotationSinkFromConfig({ type: 'directory', path: dir, file_name: '{name}.secret' }, dir);
  const staging = sink.staging;
  if (!staging) throw new Error('the directory sink must stage');
  let { crashAfterStage = false, failDelivery = false } = faults;
  const context: RotationContext = {
    now: () => 1_700_000_000_000,
    previousSecret: sink.previous,
    deliverSecret: async (target, secret) => {
      if (failDelivery) {
        failDelivery = false;
        throw rotationError('rotation_sink_failed', `${target.itemId}: injected delivery failure`);
      }
      return sink.deliver(target, secret);
    },
    staging: {
      ...staging,
      stage: async (target, secret) => {
        await staging.stage(target, secret);
        if (crashAfterStage) {
          crashAfterStage = false;
          throw rotationError('rotation_staging_failed', `${target.itemId}: injected crash after staging`);
        }
      },
    },
  };
  return {
    context,
    fileOf: (target: RotationTarget) => join(dir, `${target.name ?? target.itemId}.secret`),
    pendingOf: (target: RotationTarget) => join(dir, `${target.name ?? target.itemId}.secret.pending`),
  };
}

/** Every message an error chain carries: what the campaign writes into the item and its audit event. */
export function messagesOf(error: unknown): string {
  const out: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    out.push(current.message, String((current as { detail?: unknown }).detail ?? ''), current.stack ?? '');
    current = current.cause;
  }
  return out.join('\n');
}
