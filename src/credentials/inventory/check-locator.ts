import { INVENTORY_ERRORS, inventoryError } from './inventory-codes.js';

const MAX_KEYS = 16;
const MAX_VALUE = 256;
/** `password=…`, `secret: …`, a URL with credentials in it, a PEM block: secrets by their shape. */
const SECRET_MARKERS = /(pass(word)?|passwd|pwd|secret|token|api[_-]?key|private[_-]?key)\s*[=:]|:\/\/[^/\s:@]+:[^/\s@]+@|-----BEGIN/i;
const SECRET_KEY_NAMES = /^(pass(word)?|passwd|pwd|secret|token|api[_-]?key|private[_-]?key|credential)s?$/i;

/** Shannon entropy in bits per character. */
function entropyPerChar(value: string): number {
  const counts = new Map<string, number>();
  for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/**
 * A long unbroken run of base64/hex-like characters with high entropy is what generated secrets look
 * like; host names, role names and paths are short words separated by dots, dashes and slashes.
 */
function looksGenerated(value: string): boolean {
  // An OpenSSH key fingerprint identifies a public key: high entropy, but not a secret.
  if (/^SHA256:[A-Za-z0-9+/]{43}$/.test(value)) return false;
  for (const run of value.split(/[\s./:@,]+/)) {
    if (run.length >= 20 && /^[A-Za-z0-9+/_=-]+$/.test(run) && entropyPerChar(run) >= 3.5) return true;
  }
  return false;
}

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
    if (SECRET_KEY_NAMES.test(key) || SECRET_MARKERS.test(text) || looksGenerated(text)) {
      throw inventoryError(INVENTORY_ERRORS.locatorLooksSecret, `${where}: locator.${key} looks like a secret; a locator says where a credential lives, never what it is`);
    }
    locator[key] = text;
  }
  return locator;
}
