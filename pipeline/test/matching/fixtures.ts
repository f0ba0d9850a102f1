import { QUERY_PLAN_VERSION, type BasicColor, type QueryPlan } from '@chronotrace/contracts';
import type { MatchTrack } from '../../src/matching/index';

export const T0 = Date.UTC(2024, 0, 8, 12, 0); // a Monday, 12:00 UTC

export const plan = (subject: QueryPlan['subject'], rest: Omit<QueryPlan, 'version' | 'subject'> = {}): QueryPlan => ({
  version: QUERY_PLAN_VERSION,
  subject,
  ...rest,
});

/** A confirmed track as the tracker would snapshot it, with overrides. */
export function track(id: string, over: Partial<MatchTrack> = {}): MatchTrack {
  return {
    id,
    camera: 'lobby',
    label: 'person',
    box: { x: 100, y: 100, w: 50, h: 120 },
    score: 0.9,
    firstSeen: T0,
    lastSeen: T0,
    hits: 5,
    misses: 0,
    age: 0,
    path: [],
    velocity: { x: 0, y: 0 },
    speed: 0,
    dwell: {},
    zones: [],
    state: 'confirmed',
    ...over,
  };
}

/** Colours per part: the first colour listed is dominant. */
export function colors(parts: Partial<Record<'any' | 'upper' | 'lower', [BasicColor, number][]>>): MatchTrack['attributes'] {
  const out: NonNullable<MatchTrack['attributes']> = {};
  for (const part of ['any', 'upper', 'lower'] as const) {
    const list = parts[part];
    if (!list?.[0]) continue;
    out[part] = { dominant: list[0][0], colors: list.map(([color, fraction]) => ({ color, fraction })) };
  }
  return out;
}
