import { processTimeZone, type CameraRecord } from '@chronotrace/contracts';
import { compileTimeWindow, type LocalClock } from '../matching/time-window';
import { zonedParts } from '../search/zoned-time';
import type { AnomalySite } from './anomaly-engine';

/** The local clock of an IANA time zone (day of week, minute of day). */
export function zonedClock(timeZone: string): LocalClock {
  return (at) => {
    const p = zonedParts(at, timeZone);
    return { day: p.dow, minutes: p.hour * 60 + p.minute };
  };
}

const clocks = new Map<string, LocalClock>();

/**
 * A camera's site for the anomaly rules: its lines, its opening hours (a zone's schedule, else the
 * camera's, or the one a rule names; definitions carried on the camera) and its time zone's clock.
 */
export function siteOfCamera(camera: Pick<CameraRecord, 'lines' | 'timeZone' | 'zones' | 'schedule' | 'schedules'> | undefined): AnomalySite {
  const tz = camera?.timeZone ?? processTimeZone();
  let clock = clocks.get(tz);
  if (!clock) clocks.set(tz, (clock = zonedClock(tz)));
  return {
    lines: camera?.lines ?? [],
    schedule: (zone, name) => {
      if (!camera) return null;
      const wanted = name ?? (zone !== null ? camera.zones.find((z) => z.name === zone)?.schedule : undefined) ?? camera.schedule;
      const def = wanted === undefined ? undefined : (camera.schedules ?? []).find((x) => x.name === wanted);
      return def ? compileTimeWindow({ after: def.from, before: def.to, days: def.days }) : null;
    },
    clock,
  };
}
