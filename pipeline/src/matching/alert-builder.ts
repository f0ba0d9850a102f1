import { createHash } from 'node:crypto';
import { QUERY_PLAN_VERSION, type AlertMessage, type ModelVersion, type SceneFrameMeta, type StandingQuery } from '@chronotrace/contracts';
import type { MatchEvent } from './track-matcher';

/** Versions of the stages between the detector and the alert, carried in every alert's evidence. */
export const ANALYTICS_MODELS: readonly ModelVersion[] = [
  { name: 'tracker', version: 'bytetrack-iou-1' },
  { name: 'colors', version: 'basic-palette-1' },
  { name: 'matcher', version: `track-matcher-1/plan-v${QUERY_PLAN_VERSION}` },
];

/** Same query version, camera, frame and tracks → same id, so a redelivered frame cannot store or send a second alert. */
export function alertId(queryId: string, queryVersion: number, camera: string, frameId: string, trackIds: readonly string[]): string {
  const h = createHash('sha256').update(`${queryId}\u0000${queryVersion}\u0000${camera}\u0000${frameId}\u0000${trackIds.join(',')}`).digest('hex');
  return `al_${h.slice(0, 24)}`;
}

/** Turns a matcher event on a scene frame into the alert message the store, the wall and webhooks get. */
export function buildAlert(event: MatchEvent, query: StandingQuery, meta: SceneFrameMeta, hasSnapshot: boolean, firedAt: number): AlertMessage {
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
    scores: event.scores,
    reason: event.reason,
    models: [...meta.redaction.models, ...ANALYTICS_MODELS],
    frame: { width: meta.width, height: meta.height },
    hasSnapshot,
  };
  if (event.count !== undefined) alert.count = event.count;
  return alert;
}
