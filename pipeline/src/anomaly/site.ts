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

type SiteCamera = Pick<CameraRecord, 'lines' | 'timeZone' | 'zones' | 'schedule' | 'schedules'>;

/** Sites by camera record: the catalog hands out the same record until the camera changes, so a frame reuses its camera's site. */
const sites = new WeakMap<SiteCamera, AnomalySite>();

/**
 * A camera's site for the anomaly rules: its lines, its opening hours (a zone's schedule, else the
 * camera's, or the one a rule names; definitions carried on the camera, compiled once) and its time
 * zone's clock. Built once per camera record.
 */
export function siteOfCamera(camera: SiteCamera | undefined): AnomalySite {
  const known = camera ? sites.get(camera) : undefined;
  if (known) return known;
  const tz = camera?.timeZone ?? processTimeZone();
  let clock = clocks.get(tz);
  if (!clock) clocks.set(tz, (clock = zonedClock(tz)));
  const windows = new Map((camera?.schedules ?? []).map((d) => [d.name, compileTimeWindow({ after: d.from, before: d.to, days: d.days })]));
  const site: AnomalySite = {
    lines: camera?.lines ?? [],
    schedule: (zone, name) => {
      if (!camera) return null;
      const wanted = name ?? (zone !== null ? camera.zones.find((z) => z.name === zone)?.schedule : undefined) ?? camera.schedule;
      return wanted === undefined ? null : (windows.get(wanted) ?? null);
    },
    clock,
  };
  if (camera) sites.set(camera, site);
  return site;
}
