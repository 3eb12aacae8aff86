import { GatehouseError } from '../../lib/errors.js';

/** Stable codes of the inventory's refusals: callers and tests branch on these, never on text. */
export const INVENTORY_ERRORS = {
  invalidInput: 'inventory_invalid_input',
  importInvalid: 'inventory_import_invalid',
  locatorLooksSecret: 'inventory_locator_secret',
  notFound: 'inventory_not_found',
  nameTaken: 'inventory_name_taken',
} as const;

export function inventoryError(code: string, message: string, status = 400): GatehouseError {
  return new GatehouseError(code, { status, publicMessage: message, detail: message });
}
