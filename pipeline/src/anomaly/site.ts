import { processTimeZone, type CameraRecord } from '@chronotrace/contracts';
import type { LocalClock } from '../matching/time-window';
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

/** A camera's site for the anomaly rules: its lines and its time zone's clock. Opening hours are not read yet. */
export function siteOfCamera(camera: Pick<CameraRecord, 'lines' | 'timeZone'> | undefined): AnomalySite {
  const tz = camera?.timeZone ?? processTimeZone();
  let clock = clocks.get(tz);
  if (!clock) clocks.set(tz, (clock = zonedClock(tz)));
  return { lines: camera?.lines ?? [], schedule: () => null, clock };
}
