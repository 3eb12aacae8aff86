import { InputError } from '../lib/errors.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90m`, `24h`, `7d`, `30s` to milliseconds (hunt windows); at most a year. */
export function parseDuration(text: string): number {
  const match = /^(\d{1,6})([smhd])$/.exec(String(text).trim());
  if (!match) throw new InputError(`"${String(text).slice(0, 40)}" is not a duration: write e.g. 30m, 24h or 7d`, 'invalid_duration');
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  if (ms <= 0 || ms > 366 * UNITS.d!) throw new InputError(`duration "${text}" must be between 1s and 366d`, 'invalid_duration');
  return ms;
}
