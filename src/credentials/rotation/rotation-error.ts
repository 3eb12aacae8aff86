import { GatehouseError } from '../../lib/errors.js';

/**
 * A rotation that could not produce evidence. The detail names what was tried and what the system
 * answered, never a secret: callers pass only role names, hosts, exit codes and SQLSTATEs.
 */
export function rotationError(code: string, detail: string, cause?: unknown): GatehouseError {
  return new GatehouseError(code, {
    status: 502,
    publicMessage: 'The credential could not be rotated with evidence.',
    detail,
    ...(cause === undefined ? {} : { cause }),
  });
}
