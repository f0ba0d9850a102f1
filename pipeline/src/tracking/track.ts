import type { Box, PathPoint, Track, TrackState } from '@chronotrace/contracts';
import { footPoint, zonesAt, type Zone } from './zones';

/** A detection as the tracker takes it: a box in frame pixels with its COCO class and score. */
export type TrackerDetection = Box & { label: string; score: number };

export type { Track, TrackState, PathPoint } from '@chronotrace/contracts';

/** Settings a live track needs on every update, resolved once by the tracker. */
export interface TrackGeometry {
  zones: readonly Zone[];
  frameWidth: number;
  frameHeight: number;
  pathLength: number;
  /** Weight of the newest velocity measurement in the smoothed velocity (0..1]. */
  velocityWeight: number;
}

/** The tracker's mutable record of one object. Internal to tracking: others get `Track` snapshots. */
export class LiveTrack {
  id = '';
  state: TrackState = 'tentative';
  box: Box;
  score: number;
  readonly label: string;
  readonly firstSeen: number;
  lastSeen: number;
  hits = 1;
  misses = 0;
  readonly path: PathPoint[] = [];
  vx = 0;
  vy = 0;
  readonly dwell = new Map<string, number>();
  zones: string[] = [];

  constructor(
    readonly key: number,
    readonly camera: string,
    detection: TrackerDetection,
    at: number,
    geometry: TrackGeometry,
  ) {
    this.box = boxOf(detection);
    this.score = detection.score;
    this.label = detection.label;
    this.firstSeen = at;
    this.lastSeen = at;
    this.#observe(at, geometry);
  }

  /** Where the box should be at `at` if the object kept its velocity (constant-velocity model). */
  predict(at: number): Box {
    const dt = (at - this.lastSeen) / 1000;
    return { ...this.box, x: this.box.x + this.vx * dt, y: this.box.y + this.vy * dt };
  }

  /** A detection was matched to this track at `at`. */
  update(detection: TrackerDetection, at: number, geometry: TrackGeometry): void {
    const dt = (at - this.lastSeen) / 1000;
    const next = boxOf(detection);
    if (dt > 0) {
      const mx = (next.x + next.w / 2 - (this.box.x + this.box.w / 2)) / dt;
      const my = (next.y + next.h / 2 - (this.box.y + this.box.h / 2)) / dt;
      // The first measurement has nothing to smooth against.
      const w = this.hits === 1 ? 1 : geometry.velocityWeight;
      this.vx = w * mx + (1 - w) * this.vx;
      this.vy = w * my + (1 - w) * this.vy;
    }
    const before = this.zones;
    const previousAt = this.lastSeen;
    this.box = next;
    this.score = detection.score;
    this.hits++;
    this.misses = 0;
    this.lastSeen = at;
    this.#observe(at, geometry);
    for (const zone of this.zones) {
      // Dwell grows only between two observations that were both inside the zone.
      if (before.includes(zone)) this.dwell.set(zone, (this.dwell.get(zone) ?? 0) + (at - previousAt));
    }
  }

  snapshot(at: number): Track {
    return {
      id: this.id,
      camera: this.camera,
      label: this.label,
      box: { ...this.box },
      score: this.score,
      firstSeen: this.firstSeen,
      lastSeen: this.lastSeen,
      hits: this.hits,
      misses: this.misses,
      age: at - this.firstSeen,
      path: this.path.map((p) => ({ ...p })),
      velocity: { x: this.vx, y: this.vy },
      speed: Math.hypot(this.vx, this.vy),
      dwell: Object.fromEntries(this.dwell),
      zones: [...this.zones],
      state: this.state,
    };
  }

  #observe(at: number, geometry: TrackGeometry): void {
    const foot = footPoint(this.box);
    this.path.push({ at, x: foot.x, y: foot.y });
    if (this.path.length > geometry.pathLength) this.path.splice(0, this.path.length - geometry.pathLength);
    this.zones = geometry.zones.length === 0 ? [] : zonesAt(foot, geometry.zones, geometry.frameWidth, geometry.frameHeight);
    for (const zone of this.zones) if (!this.dwell.has(zone)) this.dwell.set(zone, 0);
  }
}

function boxOf(d: TrackerDetection): Box {
  return { x: d.x, y: d.y, w: d.w, h: d.h, score: d.score, label: d.label };
}
