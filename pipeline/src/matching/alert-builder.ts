import { createHash } from 'node:crypto';
import { QUERY_PLAN_VERSION, type AlertMessage, type ModelVersion, type SceneFrameMeta, type StandingQuery } from '@chronotrace/contracts';
import type { AnomalyEvent } from '../anomaly/anomaly-engine';
import type { MatchEvent } from './track-matcher';

/** Versions of the stages between the detector and the alert, carried in every alert's evidence. */
export const ANALYTICS_MODELS: readonly ModelVersion[] = [
  { name: 'tracker', version: 'bytetrack-iou-1' },
  { name: 'colors', version: 'basic-palette-1' },
  { name: 'matcher', version: `track-matcher-1/plan-v${QUERY_PLAN_VERSION}` },
];

/** The anomaly engine's version, in the evidence of anomaly alerts. */
export const ANOMALY_MODEL: ModelVersion = { name: 'anomaly-engine', version: '1' };

/** Same query version, camera, frame and tracks → same id, so a redelivered frame cannot store or send a second alert. */
export function alertId(queryId: string, queryVersion: number, camera: string, frameId: string, trackIds: readonly string[]): string {
  const h = createHash('sha256').update(`${queryId}\u0000${queryVersion}\u0000${camera}\u0000${frameId}\u0000${trackIds.join(',')}`).digest('hex');
  return `al_${h.slice(0, 24)}`;
}

/** Turns a matcher or anomaly event on a scene frame into the alert message the store, the wall and webhooks get. */
export function buildAlert(event: MatchEvent | AnomalyEvent, query: StandingQuery, meta: SceneFrameMeta, hasSnapshot: boolean, firedAt: number): AlertMessage {
  const anomaly = 'anomaly' in event ? event.anomaly : undefined;
  const scores = 'scores' in event ? event.scores : { hysteresis: 1, detection: event.tracks.length ? event.tracks.reduce((s, t) => s + t.score, 0) / event.tracks.length : 0, color: 1 };
  const alert: AlertMessage = {
    id: alertId(query.id, event.planVersion, meta.camera, meta.frameId, event.tracks.map((t) => t.trackId)),
    queryId: query.id,
    queryText: query.text,
    queryVersion: event.planVersion,
    planVersion: event.plan.version,
    plan: event.plan,
    explanation: query.explanation,
    severity: query.severity,
    kind: event.kind,
    camera: meta.camera,
    frameId: meta.frameId,
    capturedAt: meta.capturedAt,
    firedAt,
    tracks: event.tracks,
    scores,
    reason: event.reason,
    models: [...meta.redaction.models, ...ANALYTICS_MODELS, ...(anomaly ? [ANOMALY_MODEL] : [])],
    frame: { width: meta.width, height: meta.height },
    hasSnapshot,
  };
  if (event.count !== undefined) alert.count = event.count;
  if (anomaly) alert.anomaly = anomaly;
  return alert;
}
