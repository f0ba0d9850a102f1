import { z } from 'zod';
import { anomalyRuleSchema, type AnomalyRule } from './anomaly';

/*
 * Standing queries: the typed, versioned plan a plain-language query compiles to. Shared by the
 * compiler (pipeline/query), the matcher, the API and the wall (which shows the explanation).
 * Bump QUERY_PLAN_VERSION on any change of meaning; stored plans carry the version they were made with.
 */

export const QUERY_PLAN_VERSION = 1 as const;

/** The 80 COCO classes, in the detector's label order. */
export const COCO_CLASSES = [
  'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat', 'traffic light',
  'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
  'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee',
  'skis', 'snowboard', 'sports ball', 'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket', 'bottle',
  'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
  'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair', 'couch', 'potted plant', 'bed',
  'dining table', 'toilet', 'tv', 'laptop', 'mouse', 'remote', 'keyboard', 'cell phone', 'microwave', 'oven',
  'toaster', 'sink', 'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier', 'toothbrush',
] as const;

export type CocoClass = (typeof COCO_CLASSES)[number];

export function isCocoClass(s: string): s is CocoClass {
  return (COCO_CLASSES as readonly string[]).includes(s);
}

/** The fixed palette the attribute stage names colours with (dominant colour of a box or body part). */
export const BASIC_COLORS = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey'] as const;

export type BasicColor = (typeof BASIC_COLORS)[number];

/** Which part of a box a colour is measured on: the whole box, or a person's upper / lower body. */
export type ColorPart = 'any' | 'upper' | 'lower';

/** The part's dominant colour must be one of `colors` (alternatives: one dominant colour per part). */
export interface ColorConstraint {
  part: ColorPart;
  colors: BasicColor[];
}

/**
 * An object carried by the subject: a box of one of `classes` overlapping the subject's box on the
 * same track. `negated`: the track must show no such box over the matcher's window ("without a backpack").
 */
export interface CarriedObject {
  /** Alternatives ("bag" → backpack | handbag | suitcase). */
  classes: CocoClass[];
  /** Dominant colour of the carried box, one of these (part 'any'). */
  colors?: BasicColor[];
  negated?: boolean;
}

/** What each matching track is. */
export interface QuerySubject {
  /** Alternatives, in COCO order. At most QUERY_LIMITS.maxClasses. */
  classes: CocoClass[];
  /** All constraints must hold (e.g. red upper body AND blue lower body). */
  colors?: ColorConstraint[];
  /** All must hold. At most QUERY_LIMITS.maxCarried. */
  carrying?: CarriedObject[];
}

export type QueryCountOp = '>' | '>=' | '<' | '<=' | '=';

/** Number of subject tracks present at once in the query's scope (zones × cameras). '<' and '<=' include zero. */
export interface QueryCountCondition {
  op: QueryCountOp;
  n: number;
}

/** A local-time window of the site. `after` > `before` wraps midnight (22:00–06:00). */
export interface QueryTimeWindow {
  /** 'HH:MM', inclusive. */
  after?: string;
  /** 'HH:MM', exclusive. */
  before?: string;
  /** Local calendar days, 0 = Sunday, ascending. */
  days?: number[];
}

export interface QueryPlan {
  version: typeof QUERY_PLAN_VERSION;
  subject: QuerySubject;
  /** Absent: every matching track fires on its own. */
  count?: QueryCountCondition;
  /** Zone names as configured; any of them. Absent: anywhere in view. */
  zones?: string[];
  /** Camera ids; any of them. Absent: every camera. */
  cameras?: string[];
  /** The track stayed at least this long (in a listed zone when zones are given, else in view). */
  dwell?: { minSeconds: number };
  time?: QueryTimeWindow;
  /**
   * Only with an embedder on: the words the compiler has no structured meaning for add a similarity
   * term. The frame must look like `text` (image–text embedding similarity above the query's
   * threshold calibrated on that camera's recent frames). Absent: structured conditions only.
   */
  similarity?: QuerySimilarity;
  /**
   * An anomaly rule instead of a description: the subject, zones and cameras scope it, and it fires
   * when its anomaly happens (alerts with `kind` = its type). See contracts/anomaly.
   */
  anomaly?: AnomalyRule;
}

export interface QuerySimilarity {
  /** What the scene should look like; the query's own words. */
  text: string;
  /** The words the compiler had no structured meaning for (why the term exists). */
  terms: string[];
}

/** Caps on the size and complexity of a query; the compiler rejects the rest. */
export const QUERY_LIMITS = {
  maxChars: 200,
  maxTokens: 40,
  /** Subject classes after synonyms are expanded ("vehicle" counts as 4). */
  maxClasses: 4,
  maxCarried: 3,
  maxCount: 1000,
  /** 24 h. */
  maxDwellSeconds: 86_400,
} as const;

export type QueryErrorCode =
  | 'empty'
  | 'too-long'
  | 'too-many-tokens'
  | 'too-many-classes'
  | 'too-many-carried'
  | 'unknown-terms'
  | 'unsupported'
  | 'no-subject'
  | 'invalid'
  | 'too-complex';

/** The 400 body of POST /api/queries. `suggestions` maps each unknown term to what the compiler would accept. */
export interface QueryError {
  code: QueryErrorCode;
  error: string;
  unknownTerms: string[];
  suggestions: Record<string, string[]>;
}

export type QueryCompileResult = { ok: true; plan: QueryPlan; explanation: string } | { ok: false; error: QueryError };

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM');
const cocoClass = z.enum(COCO_CLASSES);
const basicColor = z.enum(BASIC_COLORS);

/** Validates a stored or submitted plan (e.g. read back from the database or sent by a client). */
export const queryPlanSchema = z.object({
  version: z.literal(QUERY_PLAN_VERSION),
  subject: z.object({
    classes: z.array(cocoClass).min(1).max(QUERY_LIMITS.maxClasses),
    colors: z.array(z.object({ part: z.enum(['any', 'upper', 'lower']), colors: z.array(basicColor).min(1) })).optional(),
    carrying: z
      .array(z.object({ classes: z.array(cocoClass).min(1), colors: z.array(basicColor).min(1).optional(), negated: z.boolean().optional() }))
      .max(QUERY_LIMITS.maxCarried)
      .optional(),
  }),
  count: z.object({ op: z.enum(['>', '>=', '<', '<=', '=']), n: z.number().int().min(0).max(QUERY_LIMITS.maxCount) }).optional(),
  zones: z.array(z.string().min(1)).min(1).optional(),
  cameras: z.array(z.string().min(1)).min(1).optional(),
  dwell: z.object({ minSeconds: z.number().positive().max(QUERY_LIMITS.maxDwellSeconds) }).optional(),
  time: z
    .object({ after: hhmm.optional(), before: hhmm.optional(), days: z.array(z.number().int().min(0).max(6)).min(1).optional() })
    .optional(),
  similarity: z.object({ text: z.string().min(1).max(QUERY_LIMITS.maxChars), terms: z.array(z.string().min(1)).min(1) }).optional(),
  anomaly: anomalyRuleSchema.optional(),
});
