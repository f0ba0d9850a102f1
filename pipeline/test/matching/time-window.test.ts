import { describe, expect, it } from 'vitest';
import { compileTimeWindow, inTimeWindow } from '../../src/matching/index';

const t = (day: number, hhmm: string) => {
  const [h, m] = hhmm.split(':').map(Number);
  return { day, minutes: h! * 60 + m! };
};

describe('inTimeWindow', () => {
  it('includes after and excludes before', () => {
    const w = compileTimeWindow({ after: '09:00', before: '17:00' });
    expect(inTimeWindow(w, t(1, '09:00'))).toBe(true);
    expect(inTimeWindow(w, t(1, '16:59'))).toBe(true);
    expect(inTimeWindow(w, t(1, '17:00'))).toBe(false);
    expect(inTimeWindow(w, t(1, '08:59'))).toBe(false);
  });

  it('wraps midnight and gives the small hours to the previous day', () => {
    const w = compileTimeWindow({ after: '22:00', before: '06:00', days: [0, 6] });
    expect(inTimeWindow(w, t(6, '22:00'))).toBe(true); // Saturday night
    expect(inTimeWindow(w, t(0, '03:00'))).toBe(true); // Saturday night, after midnight
    expect(inTimeWindow(w, t(1, '03:00'))).toBe(true); // Sunday night, after midnight
    expect(inTimeWindow(w, t(6, '03:00'))).toBe(false); // Friday night
    expect(inTimeWindow(w, t(0, '12:00'))).toBe(false);
  });

  it('reads equal bounds as the whole day and no bounds as any time of the listed days', () => {
    expect(inTimeWindow(compileTimeWindow({ after: '08:00', before: '08:00' }), t(3, '02:00'))).toBe(true);
    const days = compileTimeWindow({ days: [1, 2, 3, 4, 5] });
    expect(inTimeWindow(days, t(5, '23:59'))).toBe(true);
    expect(inTimeWindow(days, t(6, '00:00'))).toBe(false);
  });
});
