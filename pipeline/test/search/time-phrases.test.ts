import { describe, expect, it } from 'vitest';
import { extractTimePhrases, windowIntervals, zonedTime } from '../../src/search/index';

const TZ = 'Europe/Paris';
/** Thursday 3 December 2026, 15:30 in Paris (UTC+1). */
const NOW = zonedTime(TZ, 2026, 12, 3, 15, 30);
const at = (month: number, day: number, h = 0, m = 0): number => zonedTime(TZ, 2026, month, day, h, m);

describe('extractTimePhrases', () => {
  // Each phrasing: the text the compiler gets and the absolute range, read in Paris time at Thu 3 Dec 15:30.
  const table: [string, string, [number, number] | null][] = [
    ['red car in the car park yesterday after 18:00', 'red car in the car park after 18:00', [at(12, 2), at(12, 3)]],
    ['person in the last 2 hours', 'person', [NOW - 2 * 3_600_000, NOW + 1]],
    ['person in the past 30 minutes', 'person', [NOW - 30 * 60_000, NOW + 1]],
    ['person within the last hour', 'person', [NOW - 3_600_000, NOW + 1]],
    ['truck over the past three days', 'truck', [NOW - 3 * 86_400_000, NOW + 1]],
    ['person in the last week', 'person', [NOW - 7 * 86_400_000, NOW + 1]],
    ['person last week', 'person', [at(11, 23), at(11, 30)]],
    ['person this week', 'person', [at(11, 30), NOW + 1]],
    ['person between 14:00 and 15:00 on Monday', 'person between 14:00 and 15:00', [at(11, 30), at(12, 1)]],
    ['person on thursday', 'person', [at(12, 3), at(12, 4)]],
    ['person last thursday', 'person', [at(11, 26), at(11, 27)]],
    ['person this morning', 'person', [at(12, 3, 5), at(12, 3, 12)]],
    ['person yesterday evening', 'person', [at(12, 2, 18), at(12, 3)]],
    ['person last night', 'person', [at(12, 2, 18), at(12, 3, 6)]],
    ['person tonight', 'person', [at(12, 3, 18), at(12, 4, 6)]],
    ['person today', 'person', [at(12, 3), at(12, 4)]],
    ['bicycle on 2026-11-28', 'bicycle', [at(11, 28), at(11, 29)]],
    ['bicycle on 1 December', 'bicycle', [at(12, 1), at(12, 2)]],
    ['bicycle dec 25th', 'bicycle', [zonedTime(TZ, 2025, 12, 25), zonedTime(TZ, 2025, 12, 26)]],
    ['person since 14:00', 'person', [at(12, 3, 14), NOW + 1]],
    ['person since 6pm', 'person', [at(12, 2, 18), NOW + 1]],
    ['person at night on mondays', 'person at night on mondays', null],
    ['person after 22:00', 'person after 22:00', null],
    ['yesterday person in the last 2 hours', 'person', [at(12, 3), at(12, 3)]],
  ];
  it.each(table)('"%s"', (text, rest, range) => {
    const r = extractTimePhrases(text, NOW, TZ);
    expect(r.text).toBe(rest);
    if (range === null) expect(r.range).toBeNull();
    else if (range[0] === range[1]) expect(r.range!.to).toBeLessThanOrEqual(r.range!.from);
    else expect(r.range).toEqual({ from: range[0], to: range[1] });
  });

  it('reads the phrases in the given time zone', () => {
    const ny = extractTimePhrases('person yesterday', NOW, 'America/New_York');
    // 15:30 Paris is 09:30 in New York, still Thursday: yesterday is Wednesday 2 Dec in New York.
    expect(ny.range).toEqual({ from: zonedTime('America/New_York', 2026, 12, 2), to: zonedTime('America/New_York', 2026, 12, 3) });
    expect(ny.range!.from - at(12, 2)).toBe(6 * 3_600_000);
  });

  it('keeps a day of 23 hours whole across a DST change', () => {
    const now = zonedTime(TZ, 2026, 3, 30, 12);
    const r = extractTimePhrases('person yesterday', now, TZ);
    expect(r.range!.to - r.range!.from).toBe(23 * 3_600_000);
  });
});

describe('windowIntervals', () => {
  it('turns "after 18:00" inside yesterday into 18:00–24:00', () => {
    expect(windowIntervals({ from: at(12, 2), to: at(12, 3) }, { after: '18:00' }, TZ)).toEqual([{ from: at(12, 2, 18), to: at(12, 3) }]);
  });

  it('opens a window wrapping midnight on the evening before and closes it in the morning', () => {
    const r = windowIntervals({ from: at(12, 1), to: at(12, 3) }, { after: '22:00', before: '06:00' }, TZ);
    expect(r).toEqual([
      { from: at(12, 1), to: at(12, 1, 6) },
      { from: at(12, 1, 22), to: at(12, 2, 6) },
      { from: at(12, 2, 22), to: at(12, 3) },
    ]);
  });

  it('keeps only the days named', () => {
    const r = windowIntervals({ from: at(11, 23), to: at(12, 3) }, { after: '14:00', before: '15:00', days: [1] }, TZ);
    expect(r).toEqual([{ from: at(11, 23, 14), to: at(11, 23, 15) }, { from: at(11, 30, 14), to: at(11, 30, 15) }]);
  });
});
