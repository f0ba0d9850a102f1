import { z } from 'zod';

/*
 * Anomalies: rules of the standing-query engine that watch for something unusual rather than
 * something described. A query plan with `anomaly` is one; its subject, zones and cameras scope it as
 * for any query, and its alerts carry `kind` = the anomaly type. Each type has a preset (the defaults
 * below), so "crowd forming at the entrance" needs no number.
 */

export const ANOMALY_TYPES = ['loitering', 'crowd', 'abandoned', 'after-hours', 'unusual', 'line'] as const;

export type AnomalyType = (typeof ANOMALY_TYPES)[number];

/** A track stays in a zone (counted from when it entered it, not in total) at least `minSeconds`. */
export interface LoiteringRule {
  type: 'loitering';
  minSeconds: number;
}

/**
 * The count of subject tracks in scope rises at least `risePerMinute` within a minute and stands at
 * least that far above the scope's learned baseline. Fires once per episode; the episode clears only
 * when the count falls to the baseline plus `clearFraction` of the rise (a count flickering at the
 * limit does not fire again and again).
 */
export interface CrowdRule {
  type: 'crowd';
  risePerMinute: number;
  clearFraction: number;
}

/**
 * A bag (backpack, handbag, suitcase: the subject) stays put at least `minSeconds` with no person
 * within `distance` (frame heights, 0..1, between foot points). The evidence names the person track
 * it was last carried by (its owner).
 */
export interface AbandonedRule {
  type: 'abandoned';
  minSeconds: number;
  /** Frame heights (0..1) from the bag's foot point. */
  distance: number;
}

/** A subject track in scope while the zone's (else the camera's) schedule is closed, or `schedule`'s when named. */
export interface AfterHoursRule {
  type: 'after-hours';
  schedule?: string;
}

/**
 * A track or interval far outside the scope's baseline for that hour of the week (speed, direction,
 * occupancy): |z| ≥ `z` (direction: a bin seen less often than 1 in `1/rareShare`), only once the
 * baseline has `minHistory` observations.
 */
export interface UnusualRule {
  type: 'unusual';
  z: number;
  minHistory: number;
}

/**
 * Tracks crossing a configured line (`lines` of the camera), in `direction` ('in': from the left of
 * from→to to its right; absent: either). With `count`: the crossings in the last `windowSeconds`
 * compared with `n` ("more than 20 people entered in 10 minutes").
 */
export interface LineRule {
  type: 'line';
  line: string;
  direction?: 'in' | 'out';
  count?: { op: '>' | '>='; n: number; windowSeconds: number };
}

export type AnomalyRule = LoiteringRule | CrowdRule | AbandonedRule | AfterHoursRule | UnusualRule | LineRule;

/** The presets: what "loitering", "a crowd forming", "a bag left unattended" mean when no number is given. */
export const ANOMALY_PRESETS = {
  loitering: { type: 'loitering', minSeconds: 60 },
  crowd: { type: 'crowd', risePerMinute: 5, clearFraction: 0.5 },
  abandoned: { type: 'abandoned', minSeconds: 60, distance: 0.15 },
  'after-hours': { type: 'after-hours' },
  unusual: { type: 'unusual', z: 4, minHistory: 200 },
} as const satisfies Record<Exclude<AnomalyType, 'line'>, AnomalyRule>;

export const anomalyRuleSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('loitering'), minSeconds: z.number().positive().max(86_400) }).strict(),
  z.object({ type: z.literal('crowd'), risePerMinute: z.number().int().min(1).max(1000), clearFraction: z.number().min(0).max(1) }).strict(),
  z.object({ type: z.literal('abandoned'), minSeconds: z.number().positive().max(86_400), distance: z.number().gt(0).max(1) }).strict(),
  z.object({ type: z.literal('after-hours'), schedule: z.string().min(1).max(64).optional() }).strict(),
  z.object({ type: z.literal('unusual'), z: z.number().min(1).max(20), minHistory: z.number().int().min(10).max(1_000_000) }).strict(),
  z
    .object({
      type: z.literal('line'),
      line: z.string().min(1).max(64),
      direction: z.enum(['in', 'out']).optional(),
      count: z.object({ op: z.enum(['>', '>=']), n: z.number().int().min(0).max(100_000), windowSeconds: z.number().positive().max(86_400) }).strict().optional(),
    })
    .strict(),
]);

/** A line of a camera's image, for line-crossing counts: normalised coordinates (0..1, origin top-left). */
export const lineSchema = z
  .object({
    name: z.string().min(1).max(64),
    from: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
    to: z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]),
  })
  .strict()
  .refine((l) => l.from[0] !== l.to[0] || l.from[1] !== l.to[1], { message: 'a line needs two different points' });

export type LineConfig = z.infer<typeof lineSchema>;

/** What an anomaly alert says beyond the matched tracks: the confidence and the threshold or baseline broken. */
export interface AnomalyEvidence {
  type: AnomalyType;
  /** 0..1: how far past its threshold the condition is (1: far past). */
  confidence: number;
  /** e.g. { dwellSeconds: 75, thresholdSeconds: 60 }, { count: 12, baseline: 3.2, rise: 7 }. */
  measured: Record<string, number | string>;
  /** Abandonment: the person track the bag was last carried by. */
  ownerTrackId?: string;
  /** Line crossing: the line and the direction crossed. */
  line?: string;
  direction?: 'in' | 'out';
}
