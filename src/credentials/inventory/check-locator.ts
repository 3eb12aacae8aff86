import { looksLikeSecret } from '../../lib/secret-shape.js';
import { INVENTORY_ERRORS, inventoryError } from './inventory-codes.js';

const MAX_KEYS = 16;
const MAX_VALUE = 256;
const SECRET_KEY_NAMES = /^(pass(word)?|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|credential)s?$/i;

/**
 * Validates a rotator locator: a flat object of short strings that says WHERE a credential lives, never
 * the credential. The threat is an inventory (and its exports, reports and audit trail) turning into
 * a second copy of the secrets it is meant to help rotate, because someone pasted a DSN with a password
 * into the "locator" column. Refused with `inventory_locator_secret`, naming the key.
 */
export function checkLocator(value: unknown, where: string): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: the locator must be a JSON object of strings`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: the locator must be a JSON object of strings`);
  }
  const entries = Object.entries(parsed);
  if (entries.length > MAX_KEYS) throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: the locator has more than ${MAX_KEYS} keys`);
  const locator: Record<string, string> = {};
  for (const [key, raw] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,40}$/.test(key)) throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: locator key ${JSON.stringify(key.slice(0, 40))} is not a plain name`);
    if (typeof raw !== 'string' && typeof raw !== 'number') throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: locator.${key} must be a string`);
    const text = String(raw);
    if (text.length > MAX_VALUE) throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: locator.${key} is longer than ${MAX_VALUE} characters`);
    if (/[\u0000-\u001f\u007f]/.test(text)) throw inventoryError(INVENTORY_ERRORS.invalidInput, `${where}: locator.${key} holds control characters`);
    // The message names the key, never the value: the value may be the secret itself.
    if (SECRET_KEY_NAMES.test(key) || looksLikeSecret(text)) {
      throw inventoryError(INVENTORY_ERRORS.locatorLooksSecret, `${where}: locator.${key} looks like a secret; a locator says where a credential lives, never what it is`);
    }
    locator[key] = text;
  }
  return locator;
}
