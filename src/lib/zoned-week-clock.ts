/**
 * Local day-of-week and minute-of-day in an IANA time zone, for the `time` selector.
 * Intl formatting costs microseconds and allocates, so each zone remembers its answers by UTC
 * minute: zone offsets in use today are whole minutes, so the local minute cannot change inside
 * one UTC minute. The memory is direct-mapped (the minute picks the slot), so requests that
 * arrive slightly out of order, or several instants in flight at once, still find their minute;
 * a slot only ever answers for the exact minute it holds, so an offset change (DST) is seen at
 * the first minute after it. Formatters are shared per zone across all apps of a snapshot.
 */

const WEEKDAYS: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

export const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type DayName = (typeof DAY_NAMES)[number];

/** Returns `day * 1440 + minuteOfDay` (Monday = day 0) for `nowMs` in the zone. */
export type WeekMinuteOf = (nowMs: number) => number;

/** Answers are remembered: building a formatter costs about a millisecond, and zone names only come from config. */
const zoneValidity = new Map<string, boolean>();

export function isValidTimeZone(zone: string): boolean {
  let valid = zoneValidity.get(zone);
  if (valid === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      valid = true;
    } catch {
      valid = false;
    }
    if (zoneValidity.size < 1000) zoneValidity.set(zone, valid);
  }
  return valid;
}

/** Slots per zone: four hours of distinct minutes before two minutes share a slot. */
const CACHE_SLOTS = 256;

/** The uncached answer: what the cache must always agree with (tests compare the two). */
export function readWeekMinute(format: Intl.DateTimeFormat, nowMs: number): number {
  let day = -1;
  let hour = -1;
  let minute = -1;
  for (const part of format.formatToParts(nowMs)) {
    if (part.type === 'weekday') day = WEEKDAYS[part.value] ?? -1;
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  // Fail closed: a value we cannot read matches no time window (-1 is in no range).
  return day < 0 || !(hour >= 0) || !(minute >= 0) ? -1 : day * 1440 + hour * 60 + minute;
}

export function weekMinuteFormat(zone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', { timeZone: zone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
}

function weekMinuteOfZone(zone: string): WeekMinuteOf {
  const format = weekMinuteFormat(zone);
  // NaN never equals a minute number, so empty slots always miss.
  const minutes = new Float64Array(CACHE_SLOTS).fill(Number.NaN);
  const values = new Int32Array(CACHE_SLOTS);
  return (nowMs) => {
    const minute = Math.floor(nowMs / 60_000);
    // `minute & mask` is wrong for minutes beyond 2^31 or NaN, but the slot is only a hint:
    // the stored minute must still match exactly.
    const slot = minute & (CACHE_SLOTS - 1);
    if (minutes[slot] === minute) return values[slot]!;
    const value = readWeekMinute(format, nowMs);
    minutes[slot] = minute;
    values[slot] = value;
    return value;
  };
}

/** One formatter per zone name, shared by every selector compiled from the same snapshot. */
export class ZonedWeekClocks {
  private readonly byZone = new Map<string, WeekMinuteOf>();

  for(zone: string): WeekMinuteOf {
    let clock = this.byZone.get(zone);
    if (clock === undefined) {
      clock = weekMinuteOfZone(zone);
      this.byZone.set(zone, clock);
    }
    return clock;
  }
}
