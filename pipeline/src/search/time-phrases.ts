import { startOfLocalDay, zonedParts, zonedTime } from './zoned-time';

/** An absolute time range, ms epoch, [from, to). */
export interface TimeRange {
  from: number;
  to: number;
}

export interface TimePhrases {
  /** The text without the time phrases taken out (what the query compiler reads). */
  text: string;
  /** The intersection of every phrase's range; null when the text names no absolute time. */
  range: TimeRange | null;
  /** The phrases as understood, e.g. ["yesterday", "in the last 2 hours"]. */
  phrases: string[];
}

const NUMBER_WORDS: Record<string, number> = {
  a: 1, an: 1, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  fifteen: 15, twenty: 20, thirty: 30, few: 3, couple: 2,
};
const UNIT_MS: Record<string, number> = { minute: 60_000, hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };
const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
/** Parts of a day, local [from, to) hours; night runs into the next morning. */
const PARTS: Record<string, [number, number]> = { morning: [5, 12], afternoon: [12, 18], evening: [18, 24], night: [22, 30] };

function unitOf(word: string): number | undefined {
  const w = word.replace(/s$/, '');
  if (w === 'min' || w === 'minute') return UNIT_MS.minute;
  if (w === 'h' || w === 'hr' || w === 'hour') return UNIT_MS.hour;
  if (w === 'day') return UNIT_MS.day;
  if (w === 'week') return UNIT_MS.week;
  return undefined;
}

interface Rule {
  pattern: RegExp;
  range(m: RegExpExecArray, now: number, tz: string): TimeRange | null;
}

function dayRange(now: number, tz: string, offset: number): TimeRange {
  return { from: startOfLocalDay(now, tz, offset), to: startOfLocalDay(now, tz, offset + 1) };
}

function partOfDay(now: number, tz: string, offset: number, part: string): TimeRange {
  const [h0, h1] = PARTS[part]!;
  const p = zonedParts(startOfLocalDay(now, tz, offset) + 12 * 3_600_000, tz);
  return { from: zonedTime(tz, p.year, p.month, p.day, h0), to: zonedTime(tz, p.year, p.month, p.day + Math.floor(h1 / 24), h1 % 24) };
}

/** Local clock "18:00", "6pm", "6:30 am", "18" → minutes of the day, or null. */
function clockMinutes(h: string, m: string | undefined, ampm: string | undefined): number | null {
  let hour = Number(h);
  const minute = m ? Number(m) : 0;
  if (ampm) {
    if (hour < 1 || hour > 12) return null;
    hour = (hour % 12) + (ampm === 'pm' ? 12 : 0);
  }
  if (hour > 23 || minute > 59) return null;
  return hour * 60 + minute;
}

const CLOCK = String.raw`(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm)?`;

const RULES: Rule[] = [
  {
    // "in the last 2 hours", "past 30 minutes", "within the last hour", "over the past few days", "last 24h"
    pattern: /\b(?:(in|during|within|over|from)\s+)?(?:the\s+)?(?:last|past|previous)\s+(?:(\d{1,4}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|few|couple)\s*(?:of\s+)?)?(minutes?|mins?|hours?|hrs?|h|days?|weeks?)\b/g,
    range(m, now) {
      const n = m[2] === undefined ? 1 : /^\d+$/.test(m[2]) ? Number(m[2]) : NUMBER_WORDS[m[2]];
      const unit = unitOf(m[3]!);
      // Bare "last week" is the calendar week before this one (a later rule); "in the last week" is 7 days.
      if (m[1] === undefined && m[2] === undefined && unit === UNIT_MS.week) return null;
      if (n === undefined || unit === undefined || n <= 0) return null;
      return { from: now - n * unit, to: now + 1 };
    },
  },
  {
    // "this morning", "yesterday evening", "today afternoon", "tonight", "last night"
    pattern: /\b(this|yesterday|today)\s+(morning|afternoon|evening|night)\b|\b(tonight)\b|\blast\s+(night)\b/g,
    range(m, now, tz) {
      if (m[3]) return { from: partOfDay(now, tz, 0, 'evening').from, to: partOfDay(now, tz, 0, 'night').to };
      if (m[4]) {
        // The night that ended this morning: from yesterday evening to this morning.
        return { from: partOfDay(now, tz, -1, 'evening').from, to: partOfDay(now, tz, -1, 'night').to };
      }
      return partOfDay(now, tz, m[1] === 'yesterday' ? -1 : 0, m[2]!);
    },
  },
  {
    pattern: /\b(?:on\s+)?(yesterday|today|the\s+day\s+before\s+yesterday)\b/g,
    range(m, now, tz) {
      return dayRange(now, tz, m[1] === 'today' ? 0 : m[1] === 'yesterday' ? -1 : -2);
    },
  },
  {
    pattern: /\b(this|last)\s+week\b/g,
    range(m, now, tz) {
      const dow = zonedParts(now, tz).dow;
      const monday = -((dow + 6) % 7);
      return m[1] === 'this' ? { from: startOfLocalDay(now, tz, monday), to: now + 1 } : { from: startOfLocalDay(now, tz, monday - 7), to: startOfLocalDay(now, tz, monday) };
    },
  },
  {
    // "on Monday", "last Monday", "Monday" (the most recent one; today if today is Monday). "on Mondays" is a
    // recurring day and stays with the query compiler.
    pattern: /\b(?:(on|last)\s+)?(sunday|monday|tuesday|wednesday|thursday|friday|saturday)\b(?!s)/g,
    range(m, now, tz) {
      const want = DAY_NAMES.indexOf(m[2]!);
      const dow = zonedParts(now, tz).dow;
      let back = (dow - want + 7) % 7;
      if (back === 0 && m[1] === 'last') back = 7;
      return dayRange(now, tz, -back);
    },
  },
  {
    // "on 2026-12-01", "2026-12-01"
    pattern: /\b(?:on\s+)?(\d{4})-(\d{2})-(\d{2})\b/g,
    range(m, _now, tz) {
      const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
      return { from: zonedTime(tz, y, mo, d), to: zonedTime(tz, y, mo, d + 1) };
    },
  },
  {
    // "on 1 December", "on December 1st", "3 Dec": this year's, or last year's when that is still to come.
    pattern: new RegExp(String.raw`\b(?:on\s+)?(?:(\d{1,2})(?:st|nd|rd|th)?\s+(${MONTHS.map((x) => x.slice(0, 3) + `(?:${x.slice(3)})?`).join('|')})|(${MONTHS.map((x) => x.slice(0, 3) + `(?:${x.slice(3)})?`).join('|')})\s+(\d{1,2})(?:st|nd|rd|th)?)\b`, 'g'),
    range(m, now, tz) {
      const day = Number(m[1] ?? m[4]);
      const month = MONTHS.findIndex((x) => x.startsWith((m[2] ?? m[3])!.slice(0, 3))) + 1;
      if (day < 1 || day > 31 || month < 1) return null;
      let year = zonedParts(now, tz).year;
      if (zonedTime(tz, year, month, day) > now) year--;
      return { from: zonedTime(tz, year, month, day), to: zonedTime(tz, year, month, day + 1) };
    },
  },
  {
    // "since 14:00", "since 6am": today at that time (yesterday's when it is still to come) until now.
    pattern: new RegExp(String.raw`\bsince\s+${CLOCK}\b`, 'g'),
    range(m, now, tz) {
      const min = clockMinutes(m[1]!, m[2], m[3]);
      if (min === null) return null;
      const p = zonedParts(now, tz);
      let from = zonedTime(tz, p.year, p.month, p.day, Math.floor(min / 60), min % 60);
      if (from > now) from = zonedTime(tz, p.year, p.month, p.day - 1, Math.floor(min / 60), min % 60);
      return { from, to: now + 1 };
    },
  },
];

/**
 * Takes the absolute time phrases out of a search text ("yesterday", "in the last 2 hours", "this
 * morning", "on Monday", "since 14:00", "on 2026-12-01"), read in the cameras' time zone at `now`. Clock
 * windows ("after 18:00", "between 14:00 and 15:00", "at night", "on Mondays") stay in the text: the
 * query compiler makes them the plan's daily window, which search then applies inside the range.
 */
export function extractTimePhrases(text: string, now: number, timeZone: string): TimePhrases {
  let rest = text.normalize('NFKC').toLowerCase();
  let range: TimeRange | null = null;
  const phrases: string[] = [];
  for (const rule of RULES) {
    rule.pattern.lastIndex = 0;
    const found: { index: number; length: number; r: TimeRange }[] = [];
    for (let m = rule.pattern.exec(rest); m; m = rule.pattern.exec(rest)) {
      const r = rule.range(m, now, timeZone);
      if (!r) continue;
      found.push({ index: m.index, length: m[0].length, r });
      phrases.push(m[0].trim());
    }
    // Cut from the end so earlier indexes stay valid.
    for (const f of found.reverse()) {
      rest = `${rest.slice(0, f.index)} ${rest.slice(f.index + f.length)}`;
      range = range ? { from: Math.max(range.from, f.r.from), to: Math.min(range.to, f.r.to) } : f.r;
    }
  }
  return { text: rest.replace(/\s+/g, ' ').trim(), range, phrases };
}

/** "Wed 2 Dec 18:00" in `tz`. */
export function formatLocal(at: number, tz: string): string {
  return new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(at)).replace(',', '');
}
