import { GatehouseError } from '../../lib/errors.js';
import { SERVICE_TOKEN_ERRORS } from './service-token-codes.js';

/** What an administrator gives when creating a token (everything but its lifetime). */
export interface ServiceTokenDescription {
  name: string;
  owner: string;
  description?: string | undefined;
  tags?: readonly string[] | undefined;
  apps: readonly string[];
}

export type CheckedDescription = Required<{ [K in keyof ServiceTokenDescription]: Exclude<ServiceTokenDescription[K], undefined> }>;

// Same slug rule as app names in the config: names appear in policies, logs and CLI arguments.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const EMAIL = /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/;
// C0, DEL and C1 controls, and the Unicode line and bidi overrides that can make a listing lie.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const MAX_TAGS = 16;
const MAX_APPS = 64;
const MAX_DESCRIPTION = 500;

function invalid(message: string): GatehouseError {
  return new GatehouseError(SERVICE_TOKEN_ERRORS.invalidInput, { status: 400, publicMessage: message, detail: message });
}

const shown = (value: unknown) => JSON.stringify(String(value).slice(0, 80));

export function checkTokenName(name: unknown): string {
  if (typeof name !== 'string' || !SLUG.test(name)) throw invalid(`name ${shown(name)} must be a slug: lower-case letters, digits and "-", at most 63 characters`);
  return name;
}

function checkList(what: string, values: readonly unknown[] | undefined, max: number, required: boolean): string[] {
  const list = [...(values ?? [])];
  if (required && list.length === 0) throw invalid(`${what}: give at least one`);
  if (list.length > max) throw invalid(`${what}: at most ${max}`);
  for (const value of list) if (typeof value !== 'string' || !SLUG.test(value)) throw invalid(`${what}: ${shown(value)} must be a slug (lower-case letters, digits and "-")`);
  return [...new Set(list as string[])].sort();
}

/** A tag or an owner naming tokens (bulk revocation), by the rules they were created under. */
export function checkTag(tag: unknown): string {
  if (typeof tag !== 'string' || !SLUG.test(tag)) throw invalid(`tag ${shown(tag)} must be a slug (lower-case letters, digits and "-")`);
  return tag;
}

export function checkOwner(owner: unknown): string {
  const normalised = typeof owner === 'string' ? owner.trim().toLowerCase() : '';
  if (normalised.length > 254 || !EMAIL.test(normalised)) throw invalid(`owner ${shown(owner)} must be an email address`);
  return normalised;
}

/** Checks and normalises a description; every message names the field at fault. */
export function checkDescription(input: ServiceTokenDescription): CheckedDescription {
  const name = checkTokenName(input.name);
  const owner = checkOwner(input.owner);
  const description = input.description ?? '';
  if (typeof description !== 'string' || description.length > MAX_DESCRIPTION || CONTROL.test(description)) {
    throw invalid(`description must be text of at most ${MAX_DESCRIPTION} characters without control characters`);
  }
  return { name, owner, description, tags: checkList('tags', input.tags, MAX_TAGS, false), apps: checkList('apps', input.apps, MAX_APPS, true) };
}

/** User agents and other client-chosen text kept for display: bounded and free of control characters. */
export function cleanClientText(value: string | undefined, max: number): string | null {
  if (value === undefined) return null;
  const cleaned = value.replace(new RegExp(CONTROL.source, 'g'), '').slice(0, max);
  return cleaned === '' ? null : cleaned;
}
