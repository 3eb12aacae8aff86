/**
 * A time typed in a console form: an ISO 8601 date or date-time, read as UTC unless it carries an
 * offset (`2026-01-31`, `2026-01-31T09:30`, `2026-01-31 09:30:00+01:00`, the `datetime-local` input's
 * form). Anything else is undefined, for the page to name; never a guess such as `Date.parse` makes.
 */
export function parseConsoleTime(text: string): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)(Z|[+-]\d{2}:?\d{2})?)?$/.exec(text.trim());
  if (!match) return undefined;
  const zone = match[3] ?? 'Z';
  const ms = Date.parse(`${match[1]}T${match[2] ?? '00:00'}${zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone}`);
  // Date.parse rolls 2026-02-31 over to March: a date that does not exist is refused instead.
  if (!Number.isFinite(ms) || new Date(ms + offsetMs(zone)).toISOString().slice(0, 10) !== match[1]) return undefined;
  return ms;
}

function offsetMs(zone: string): number {
  if (zone === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.replace(/[+-:]/g, '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}
