/** Validation of domain names given by an operator (API, config allowlist), RFC 1035 §2.3.1 syntax. */
import { InputError } from '../lib/errors.js';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Lower-cases, strips one trailing dot and checks the syntax; throws InputError `dns_invalid_domain`. */
export function normaliseDomainName(input: unknown): string {
  if (typeof input !== 'string') throw new InputError('domain name must be a string', 'dns_invalid_domain');
  let name = input.trim().toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253) {
    throw new InputError(`domain name "${input.slice(0, 80)}" must be 1-253 characters`, 'dns_invalid_domain');
  }
  for (const label of name.split('.')) {
    if (!LABEL.test(label)) {
      throw new InputError(`domain name "${name.slice(0, 80)}" has an invalid label "${label.slice(0, 63)}"`, 'dns_invalid_domain');
    }
  }
  return name;
}
