import { isGatehouseError } from '../../src/lib/errors.js';

/** The stable code a refused operation failed with; throws if it succeeded or failed another way. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isGatehouseError(error)) return error.code;
    throw error;
  }
  throw new Error('expected a failure');
}
