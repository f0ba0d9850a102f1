import { z } from 'zod';
import type { AnomalyType } from './anomaly';

/*
 * Activity analytics over recorded tracks: where tracks went (a heatmap), how many crossed each line
 * and stood in each zone over time, and how many anomalies fired per day.
 */

/** The heatmap's grid over the picture. */
export const HEATMAP_COLS = 32;
export const HEATMAP_ROWS = 24;
/** A report covers at most this long (scene frames are kept 72 h by default). */
export const ACTIVITY_MAX_SPAN_MS = 7 * 86_400_000;

/** GET /api/cameras/:id/activity query string. */
export const activityQuerySchema = z.object({
  /** ms epoch or ISO 8601; default: the last hour. */
  from: z.string().max(40).optional(),
  to: z.string().max(40).optional(),
  /** Bucket width for the series, minutes. Default: the span / 60, at least 1. */
  bucket: z.coerce.number().int('must be a whole number of minutes').min(1, 'must be at least 1 minute').max(1440, 'must be at most 1440 minutes (a day)').optional(),
  /** Which tracks count: a COCO class. Default person. */
  label: z.string().trim().min(1).max(40).optional(),
  /**
   * Lines to count besides the camera's own, drawn now over past footage: `name:x1,y1,x2,y2` (normalised
   * 0..1), several separated by `;`.
   */
  lines: z
    .string()
    .max(2000)
    .regex(/^[A-Za-z0-9 _-]{1,40}:(0(\.\d+)?|1(\.0+)?)(,(0(\.\d+)?|1(\.0+)?)){3}(;[A-Za-z0-9 _-]{1,40}:(0(\.\d+)?|1(\.0+)?)(,(0(\.\d+)?|1(\.0+)?)){3}){0,7}$/, 'must be name:x1,y1,x2,y2 with coordinates from 0 to 1, at most 8 separated by ;')
    .optional(),
});

/** The `lines` parameter of an activity request as line configs. */
export function parseActivityLines(v: string | undefined): { name: string; from: [number, number]; to: [number, number] }[] {
  if (!v) return [];
  return v.split(';').map((part) => {
    const [name, coords] = part.split(':') as [string, string];
    const [x1, y1, x2, y2] = coords.split(',').map(Number) as [number, number, number, number];
    return { name: name.trim(), from: [x1, y1], to: [x2, y2] };
  });
}

export interface ActivityHeatmap {
  cols: number;
  rows: number;
  /** Row-major: tracks that passed through each cell (a track counts once per cell per pass). */
  cells: number[];
  /** The busiest cell's count. */
  max: number;
}

export interface LineActivity {
  name: string;
  /** Crossings: 'in' from the left of from→to to its right, 'out' back. */
  total: { in: number; out: number };
  buckets: { at: number; in: number; out: number }[];
}

export interface ZoneActivity {
  name: string;
  /** Most tracks in the zone at once over the whole span. */
  peak: number;
  /** Tracks that entered it. */
  entered: number;
  buckets: { at: number; peak: number; entered: number }[];
}

/** GET /api/cameras/:id/activity. */
export interface ActivityReport {
  camera: string;
  label: string;
  from: number;
  to: number;
  bucketMs: number;
  /** Stored scene frames read. */
  frames: number;
  /** The span held more frames than one report reads: it covers [from, coveredTo). */
  truncated: boolean;
  coveredTo: number;
  /** Distinct tracks of the label. */
  tracks: number;
  heatmap: ActivityHeatmap;
  lines: LineActivity[];
  zones: ZoneActivity[];
  /** Most tracks in view at once, per bucket. */
  inView: { at: number; peak: number }[];
}

/** GET /api/analytics/anomalies query string. */
export const anomalyCountsQuerySchema = z.object({
  days: z.coerce.number().int('must be a whole number').min(1, 'must be at least 1').max(90, 'must be at most 90').optional(),
  camera: z.string().max(64).optional(),
  /** IANA time zone the days are counted in. Default UTC. */
  tz: z
    .string()
    .max(64)
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'is not an IANA time zone')
    .optional(),
});

/** GET /api/analytics/anomalies: anomalies fired per day and type (days with none are listed with zeros). */
export interface AnomalyCounts {
  tz: string;
  days: { day: string; counts: Record<AnomalyType, number>; total: number }[];
}
