import type { QueryTimeWindow } from '@chronotrace/contracts';

/** A moment in the site's local time: the calendar day (0 = Sunday) and the minute of that day. */
export interface LocalTime {
  day: number;
  minutes: number;
}

/** Turns a frame time (ms epoch) into the site's local time. */
export type LocalClock = (at: number) => LocalTime;

/**
 * The default clock: the process's local time zone (set TZ for the site). Cameras carry no time zone
 * of their own, so every camera is taken to be in the process's zone.
 */
export const processLocalClock: LocalClock = (at) => {
  const d = new Date(at);
  return { day: d.getDay(), minutes: d.getHours() * 60 + d.getMinutes() };
};

/** A QueryTimeWindow resolved once at arm time, so a frame only compares integers. */
export interface CompiledTimeWindow {
  /** Minute of day, inclusive; -1 when absent. */
  after: number;
  /** Minute of day, exclusive; -1 when absent. */
  before: number;
  /** True when after > before (22:00–06:00). */
  wraps: boolean;
  /** Bit d set = day d allowed; 0x7f when no days were given. */
  days: number;
}

const ALL_DAYS = 0x7f;

function minutesOf(hhmm: string | undefined): number {
  if (hhmm === undefined) return -1;
  const [h, m] = hhmm.split(':');
  return Number(h) * 60 + Number(m);
}

export function compileTimeWindow(time: QueryTimeWindow): CompiledTimeWindow {
  const after = minutesOf(time.after);
  const before = minutesOf(time.before);
  let days = 0;
  for (const d of time.days ?? []) days |= 1 << d;
  return { after, before, wraps: after >= 0 && before >= 0 && after > before, days: days === 0 ? ALL_DAYS : days };
}

/**
 * Whether a local time is inside the window. `after` is inclusive, `before` exclusive; equal bounds
 * mean the whole day. In a window that wraps midnight, the part after midnight belongs to the day the
 * window opened on: "Friday 22:00–06:00" holds on Saturday at 02:00, not on Friday at 02:00.
 */
export function inTimeWindow(w: CompiledTimeWindow, t: LocalTime): boolean {
  const m = t.minutes;
  let day = t.day;
  if (w.after >= 0 && w.before >= 0) {
    if (w.wraps) {
      if (m < w.before) day = (day + 6) % 7;
      else if (m < w.after) return false;
    } else if (w.after < w.before && (m < w.after || m >= w.before)) return false;
  } else if (w.after >= 0) {
    if (m < w.after) return false;
  } else if (w.before >= 0) {
    if (m >= w.before) return false;
  }
  return (w.days & (1 << day)) !== 0;
}
