import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { GatehouseError } from '../lib/errors.js';

/** What `gatehouse login` keeps for the other commands: a bearer credential, so mode 0600 in a 0700 folder. */
export interface StoredCliCredential {
  portal: string;
  credential: string;
  email: string;
  expiresAt: number;
}

/** `$XDG_CONFIG_HOME/gatehouse/credentials.json`, else `~/.config/gatehouse/credentials.json` (XDG Base Directory). */
export function credentialsFilePath(env: Readonly<Record<string, string | undefined>>): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME || homedir(), '.config');
  return join(base, 'gatehouse', 'credentials.json');
}

export function writeCliCredential(file: string, stored: StoredCliCredential): void {
  const dir = join(file, '..');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // An existing folder keeps its mode through mkdir: tighten it (it holds a bearer credential).
  chmodSync(dir, 0o700);
  // Written aside then renamed: a reader never sees half a file, and the mode is set before any byte.
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify({ portal: stored.portal, credential: stored.credential, email: stored.email, expires_at: stored.expiresAt }, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  renameSync(temporary, file);
}

export function notSignedIn(detail: string): GatehouseError {
  return new GatehouseError('cli_not_signed_in', { status: 401, publicMessage: 'You are not signed in on this computer: run `gatehouse login`.', detail });
}

export function readCliCredential(file: string): StoredCliCredential {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    throw notSignedIn(`no readable ${file}`);
  }
  if (typeof parsed.portal !== 'string' || typeof parsed.credential !== 'string' || typeof parsed.email !== 'string' || typeof parsed.expires_at !== 'number') throw notSignedIn(`${file} is not a Gatehouse credentials file`);
  return { portal: parsed.portal, credential: parsed.credential, email: parsed.email, expiresAt: parsed.expires_at };
}

export function deleteCliCredential(file: string): void {
  rmSync(file, { force: true });
}
