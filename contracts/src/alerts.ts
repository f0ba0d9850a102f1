import { z } from 'zod';
import type { ModelVersion } from './bus';
import type { AnomalyEvidence, AnomalyType } from './anomaly';
import type { Box } from './geometry';
import type { CocoClass, QueryCompileResult, QueryError, QueryPlan } from './query';

/*
 * Standing queries as stored and served, the alerts they fire, and webhooks. Shared by the
 * match stage, the web server (REST + Socket.io) and the wall.
 */

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A standing query as stored (GET /api/queries item). */
export interface StandingQuery {
  id: string;
  text: string;
  plan: QueryPlan;
  explanation: string;
  /** Cameras the operator limited the query to (already folded into plan.cameras); null: as the text says. */
  cameras: string[] | null;
  severity: Severity;
  armed: boolean;
  /** Edit counter, from 1; alerts carry the version that fired them. */
  version: number;
  createdAt: number;
  updatedAt: number;
}

/** POST /api/queries body. */
export const newQuerySchema = z.object({
  text: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
  cameras: z.array(z.string().min(1).max(63)).min(1).max(256).optional(),
  severity: z.enum(SEVERITIES).default('warning'),
  /** Default true: a new query is armed unless the operator only wants to try it. */
  armed: z.boolean().default(true),
});
export type NewQueryInput = z.input<typeof newQuerySchema>;

/** PATCH /api/queries/:id body: any of these. */
export const queryPatchSchema = z
  .object({
    text: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters').optional(),
    cameras: z.array(z.string().min(1).max(63)).min(1).max(256).nullable().optional(),
    severity: z.enum(SEVERITIES).optional(),
    armed: z.boolean().optional(),
  })
  .strict()
  .refine((p) => Object.keys(p).length > 0, { message: 'give at least one of text, cameras, severity, armed' });
export type QueryPatchInput = z.input<typeof queryPatchSchema>;

/** POST /api/queries/compile body: see how a text is understood without saving it. */
export const compileQuerySchema = z.object({ text: z.string().max(1000, 'must be at most 1000 characters') });
export type CompileQueryResponse = QueryCompileResult;

/** 400 body of POST/PATCH /api/queries when the text is not understood. */
export type QueryRejection = { error: string; code: QueryError['code']; unknownTerms: string[]; suggestions: Record<string, string[]> };

/** One matched track in an alert's evidence. */
export interface AlertTrackEvidence {
  trackId: string;
  label: string;
  box: Box;
  /** Detector score of the track's last detection. */
  score: number;
  /** Weakest colour constraint's best share; 1 with no colour constraint. */
  colorScore: number;
  /** Zones of the query the track is in (empty when the query names none). */
  zones: string[];
  /** Seconds in the matched zone, or in view when the query names no zone. */
  dwellSeconds: number;
  carrying: CocoClass[];
}

export interface AlertScores {
  /** Frames matched in the hysteresis window / window size. */
  hysteresis: number;
  /** Mean detector score of the matched tracks (0 for an empty count match). */
  detection: number;
  /** Lowest colour score of the matched tracks (1 without colour constraints). */
  color: number;
  /** The similarity term, when the query has one: the frame's score, the threshold calibrated for this query and camera, and its percentile. */
  similarity?: { score: number; threshold: number; percentile: number; model: string };
}

/** 'track': one track matched a query; 'count': a count condition held; else the anomaly that happened. */
export type AlertKind = 'track' | 'count' | AnomalyType;

/** An alert: what fired, where, when, and its evidence. Stored, pushed to the wall, sent to webhooks. */
export interface Alert {
  /** Deterministic per (query, version, camera, frame): a redelivered frame cannot raise a second alert. */
  id: string;
  queryId: string;
  queryText: string;
  /** The query's edit version that fired. */
  queryVersion: number;
  /** The plan schema version (QUERY_PLAN_VERSION). */
  planVersion: number;
  plan: QueryPlan;
  explanation: string;
  severity: Severity;
  kind: AlertKind;
  camera: string;
  frameId: string;
  /** Capture time of the frame that fired (ms epoch). */
  capturedAt: number;
  /** When the matcher fired (ms epoch). */
  firedAt: number;
  tracks: AlertTrackEvidence[];
  /** Matching tracks on the frame (count queries). */
  count?: number;
  scores: AlertScores;
  /** e.g. 'person wearing red (upper) in zone "entrance": 3 of the last 5 frames'. */
  reason: string;
  /** An anomaly rule's alert: its confidence and the threshold or baseline broken. */
  anomaly?: AnomalyEvidence;
  /** Detector, tracker and matcher versions behind the alert. */
  models: ModelVersion[];
  /** Frame size of the boxes. */
  frame: { width: number; height: number };
  /** A redacted snapshot is stored (GET /api/alerts/:id/snapshot.jpg). */
  hasSnapshot: boolean;
  ack: { by: string; at: number } | null;
}

/** An alert event on the bus (`alerts.<camera>`); the snapshot is in the store, not the message. */
export type AlertMessage = Omit<Alert, 'ack'>;

/** GET /api/alerts query string. */
export const alertListQuerySchema = z.object({
  since: z.coerce.number().int().min(0).optional(),
  until: z.coerce.number().int().min(0).optional(),
  camera: z.string().min(1).max(63).optional(),
  query: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

/** A hit a backtest found: the alert the query would have fired, not fired. */
export interface BacktestHit {
  camera: string;
  frameId: string;
  capturedAt: number;
  kind: AlertKind;
  tracks: AlertTrackEvidence[];
  count?: number;
  scores: AlertScores;
  reason: string;
  anomaly?: AnomalyEvidence;
  frame: { width: number; height: number };
}

/** POST /api/queries/:id/backtest body (ms epoch). Default: the last hour. */
export const backtestSchema = z
  .object({ from: z.number().int().min(0).optional(), to: z.number().int().min(0).optional() })
  .refine((b) => b.from === undefined || b.to === undefined || b.from < b.to, { message: 'from must be before to' });

export interface BacktestResult {
  queryId: string;
  from: number;
  to: number;
  /** Stored scene frames replayed. */
  frames: number;
  cameras: string[];
  hits: BacktestHit[];
  /** More hits than the cap were found; only the first are listed. */
  truncated: boolean;
  ms: number;
}

/** A registered webhook (the secret is shown only in the 201 answer). */
export interface Webhook {
  id: string;
  url: string;
  /** Only alerts of these cameras / queries; null: all. */
  cameras: string[] | null;
  queries: string[] | null;
  createdAt: number;
}

export const newWebhookSchema = z.object({
  url: z
    .string()
    .max(2000)
    .refine((u) => {
      try {
        const p = new URL(u);
        return (p.protocol === 'http:' || p.protocol === 'https:') && p.username === '' && p.password === '';
      } catch {
        return false;
      }
    }, 'must be an http:// or https:// URL without credentials'),
  /** HMAC-SHA256 key; generated when omitted. */
  secret: z.string().min(16, 'must be at least 16 characters').max(256).optional(),
  cameras: z.array(z.string().min(1).max(63)).min(1).max(256).optional(),
  queries: z.array(z.string().min(1).max(64)).min(1).max(256).optional(),
});
export type NewWebhookInput = z.input<typeof newWebhookSchema>;

/** The body a webhook receives (POST, JSON). Signed: `x-chronotrace-signature: sha256=HMAC(secret, "<timestamp>.<body>")`. */
export interface WebhookPayload {
  type: 'alert';
  deliveryId: string;
  alert: AlertMessage;
  /** Absolute or relative URL of the redacted snapshot. */
  snapshotUrl: string | null;
}

export const WEBHOOK_HEADERS = {
  signature: 'x-chronotrace-signature',
  timestamp: 'x-chronotrace-timestamp',
  delivery: 'x-chronotrace-delivery',
  event: 'x-chronotrace-event',
} as const;
