import type { RotationStaging } from '../rotator.js';

/** Staging held in memory, for tests whose subject is not the crash path (those use the directory sink's). */
export function memoryStaging(): RotationStaging {
  const staged = new Map<string, Buffer>();
  return {
    stage: async (target, secret) => void staged.set(target.itemId, Buffer.from(secret)),
    staged: async (target) => staged.get(target.itemId),
    discard: async (target) => void staged.delete(target.itemId),
  };
}
