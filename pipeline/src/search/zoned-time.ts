/** A wall-clock moment in some time zone. month 1–12; dow 0 = Sunday. */
export interface ZonedParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  dow: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

const WEEKDAYS: Record<string, number> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

/** The local wall-clock parts of an instant (ms epoch) in `tz`. */
export function zonedParts(at: number, tz: string): ZonedParts {
  const out: Record<string, string> = {};
  for (const p of formatter(tz).formatToParts(new Date(at))) out[p.type] = p.value;
  return {
    year: Number(out.year),
    month: Number(out.month),
    day: Number(out.day),
    hour: Number(out.hour) % 24,
    minute: Number(out.minute),
    second: Number(out.second),
    dow: WEEKDAYS[out.weekday ?? 'Sun'] ?? 0,
  };
}

/** The zone's offset from UTC at an instant, ms (local = utc + offset). */
function offsetAt(at: number, tz: string): number {
  const p = zonedParts(at, tz);
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return asUtc - Math.floor(at / 1000) * 1000;
}

/**
 * The instant a local wall-clock time names in `tz`. Days and months may overflow (day 0, day 32),
 * as with Date.UTC. In a DST gap the time after the gap; in an overlap the earlier instant.
 */
export function zonedTime(tz: string, year: number, month: number, day: number, hour = 0, minute = 0): number {
  const guess = Date.UTC(year, month - 1, day, hour, minute);
  // Two passes settle the offset, also next to a DST change.
  let at = guess - offsetAt(guess, tz);
  at = guess - offsetAt(at, tz);
  const early = guess - offsetAt(at - 3_600_000, tz);
  // Prefer the earlier of two valid readings (DST overlap).
  if (early < at && sameWallClock(early, tz, year, month, day, hour, minute)) return early;
  return at;
}

function sameWallClock(at: number, tz: string, year: number, month: number, day: number, hour: number, minute: number): boolean {
  const p = zonedParts(at, tz);
  const want = new Date(Date.UTC(year, month - 1, day, hour, minute));
  return p.year === want.getUTCFullYear() && p.month === want.getUTCMonth() + 1 && p.day === want.getUTCDate() && p.hour === hour && p.minute === minute;
}

/** Local midnight starting the day `dayOffset` days after the local day of `at`. */
export function startOfLocalDay(at: number, tz: string, dayOffset = 0): number {
  const p = zonedParts(at, tz);
  return zonedTime(tz, p.year, p.month, p.day + dayOffset, 0, 0);
}
