const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365.25 * DAY;
const MONTH = YEAR / 12;

function count(value: number, unit: string): string {
  return `${value} ${unit}${value === 1 ? '' : 's'}`;
}

/**
 * A duration in the words a person reads on a block page: "37 minutes", "5 hours", "12 days",
 * "3 years". Rounded down, so a domain is never described as older than it is.
 */
export function describeElapsed(ms: number): string {
  const elapsed = Math.max(0, ms);
  if (elapsed < MINUTE) return 'less than a minute';
  if (elapsed < HOUR) return count(Math.floor(elapsed / MINUTE), 'minute');
  if (elapsed < 2 * DAY) return count(Math.floor(elapsed / HOUR), 'hour');
  if (elapsed < 60 * DAY) return count(Math.floor(elapsed / DAY), 'day');
  if (elapsed < 2 * YEAR) return count(Math.floor(elapsed / MONTH), 'month');
  return count(Math.floor(elapsed / YEAR), 'year');
}
