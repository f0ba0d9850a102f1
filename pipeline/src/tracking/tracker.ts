import { associateByIou } from './association';
import { TrackerOptionsError } from './errors';
import { LiveTrack, type Track, type TrackerDetection, type TrackGeometry } from './track';
import type { Zone } from './zones';

export interface TrackerOptions {
  /** Camera id. Required. */
  camera: string;
  /** Track ids are `<idPrefix>:<n>`. Default: the camera id. A stage sets a per-session prefix so ids stay unique across restarts. */
  idPrefix?: string;
  /** Matched frames in a row before a track is confirmed (and reported as started). Default 2. */
  minHits?: number;
  /** A confirmed track with no match for longer than this ends. Default 3000 ms. */
  maxAgeMs?: number;
  /** Detections at or above this score are matched first (ByteTrack's high set). Default 0.5. */
  highScore?: number;
  /** Detections below this score are ignored; between lowScore and highScore they only extend existing tracks. Default 0.1. */
  lowScore?: number;
  /** Only detections at or above this score start a new track. Default 0.5. */
  newTrackScore?: number;
  /** Minimum IoU between a predicted track box and a high-score detection. Default 0.2. */
  matchIou?: number;
  /** Minimum IoU for the second, low-score pass (stricter: those detections are less sure). Default 0.5. */
  lowMatchIou?: number;
  /** Minimum IoU for a tentative track to take a leftover high-score detection. Default 0.3. */
  tentativeMatchIou?: number;
  /**
   * A tentative track (no velocity yet) may also take a leftover detection of similar size whose
   * centre is within this many box sizes, so objects faster than their own size per frame still
   * confirm. 0 disables. Default 1.5.
   */
  tentativeMaxJump?: number;
  /** Foot points kept per track. Default 100. */
  pathLength?: number;
  /** Weight of the newest measurement in the smoothed velocity (0..1]. Default 0.5. */
  velocityWeight?: number;
  /** Zones (normalised polygons) for dwell. Default none. Needs frameWidth/frameHeight here or on each frame. */
  zones?: readonly Zone[];
  /** Frame size in pixels, to place the foot point in the normalised zones. */
  frameWidth?: number;
  frameHeight?: number;
}

export const DEFAULT_TRACKER_OPTIONS = {
  minHits: 2,
  maxAgeMs: 3000,
  highScore: 0.5,
  lowScore: 0.1,
  newTrackScore: 0.5,
  matchIou: 0.2,
  lowMatchIou: 0.5,
  tentativeMatchIou: 0.3,
  tentativeMaxJump: 1.5,
  pathLength: 100,
  velocityWeight: 0.5,
} as const;

type ResolvedOptions = Required<Omit<TrackerOptions, 'frameWidth' | 'frameHeight'>> & { frameWidth: number; frameHeight: number };

/** One frame's detections for the tracker. */
export interface TrackerFrame {
  /** Frame time in ms; must increase. */
  at: number;
  detections: readonly TrackerDetection[];
  /** Overrides the option for this frame (e.g. the camera changed resolution). */
  frameWidth?: number;
  frameHeight?: number;
}

/** What changed with one frame. Tentative tracks are never reported: they may be noise. */
export interface TrackerUpdate {
  at: number;
  /** Tracks confirmed by this frame. */
  started: Track[];
  /** Confirmed tracks matched again by this frame (not those in `started`). */
  updated: Track[];
  /** Tracks that went unmatched for longer than maxAgeMs (or all, on endAll). */
  ended: Track[];
  /** Every confirmed or lost track after this frame. */
  tracks: Track[];
  /** The frame was not newer than the last one (a redelivery): nothing changed. */
  stale: boolean;
}

export interface TrackerStats {
  camera: string;
  frames: number;
  staleFrames: number;
  /** Confirmed or lost tracks now. */
  activeTracks: number;
  tentativeTracks: number;
  startedTotal: number;
  endedTotal: number;
  /** Tentative tracks dropped before confirmation (spurious detections). */
  discardedTentative: number;
  lastAt: number | null;
  options: ResolvedOptions;
}

export function parseTrackerOptions(options: TrackerOptions): ResolvedOptions {
  const d = DEFAULT_TRACKER_OPTIONS;
  const o: ResolvedOptions = {
    camera: options.camera,
    idPrefix: options.idPrefix ?? options.camera,
    minHits: options.minHits ?? d.minHits,
    maxAgeMs: options.maxAgeMs ?? d.maxAgeMs,
    highScore: options.highScore ?? d.highScore,
    lowScore: options.lowScore ?? d.lowScore,
    newTrackScore: options.newTrackScore ?? d.newTrackScore,
    matchIou: options.matchIou ?? d.matchIou,
    lowMatchIou: options.lowMatchIou ?? d.lowMatchIou,
    tentativeMatchIou: options.tentativeMatchIou ?? d.tentativeMatchIou,
    tentativeMaxJump: options.tentativeMaxJump ?? d.tentativeMaxJump,
    pathLength: options.pathLength ?? d.pathLength,
    velocityWeight: options.velocityWeight ?? d.velocityWeight,
    zones: options.zones ?? [],
    frameWidth: options.frameWidth ?? 0,
    frameHeight: options.frameHeight ?? 0,
  };
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new TrackerOptionsError(what);
  };
  check(typeof o.camera === 'string' && o.camera.length > 0, 'camera is required');
  check(typeof o.idPrefix === 'string' && o.idPrefix.length > 0, 'idPrefix must be a non-empty string');
  check(Number.isInteger(o.minHits) && o.minHits >= 1, `minHits must be an integer ≥ 1, got ${o.minHits}`);
  check(o.maxAgeMs >= 0, `maxAgeMs must be ≥ 0, got ${o.maxAgeMs}`);
  check(o.lowScore >= 0 && o.lowScore <= o.highScore && o.highScore <= 1, `need 0 ≤ lowScore ≤ highScore ≤ 1, got ${o.lowScore}, ${o.highScore}`);
  check(o.newTrackScore >= o.highScore && o.newTrackScore <= 1, `newTrackScore must be in [highScore, 1], got ${o.newTrackScore}`);
  for (const [name, v] of [['matchIou', o.matchIou], ['lowMatchIou', o.lowMatchIou], ['tentativeMatchIou', o.tentativeMatchIou]] as const) {
    check(v > 0 && v <= 1, `${name} must be in (0, 1], got ${v}`);
  }
  check(o.tentativeMaxJump >= 0, `tentativeMaxJump must be ≥ 0, got ${o.tentativeMaxJump}`);
  check(Number.isInteger(o.pathLength) && o.pathLength >= 1, `pathLength must be an integer ≥ 1, got ${o.pathLength}`);
  check(o.velocityWeight > 0 && o.velocityWeight <= 1, `velocityWeight must be in (0, 1], got ${o.velocityWeight}`);
  return o;
}

/**
 * Multi-object tracker for one camera, SORT/ByteTrack style: constant-velocity prediction, greedy
 * IoU association within a class, high-score detections first and low-score ones only to extend
 * tracks already being followed. Pure: time comes with each frame.
 */
export class Tracker {
  readonly #o: ResolvedOptions;
  #live: LiveTrack[] = [];
  #nextKey = 1;
  #nextId = 1;
  #lastAt: number | null = null;
  #frames = 0;
  #staleFrames = 0;
  #startedTotal = 0;
  #endedTotal = 0;
  #discardedTentative = 0;

  constructor(options: TrackerOptions) {
    this.#o = parseTrackerOptions(options);
  }

  get camera(): string {
    return this.#o.camera;
  }

  update(frame: TrackerFrame): TrackerUpdate {
    const { at } = frame;
    if (this.#lastAt !== null && !(at > this.#lastAt)) {
      this.#staleFrames++;
      return { at, started: [], updated: [], ended: [], tracks: this.#reported(this.#lastAt), stale: true };
    }
    const geometry = this.#geometry(frame);
    this.#frames++;
    this.#lastAt = at;

    const high: TrackerDetection[] = [];
    const low: TrackerDetection[] = [];
    for (const d of frame.detections) {
      if (d.score >= this.#o.highScore) high.push(d);
      else if (d.score >= this.#o.lowScore) low.push(d);
    }
    const asCandidates = (ds: readonly TrackerDetection[]): { box: TrackerDetection; label: string }[] => ds.map((d) => ({ box: d, label: d.label }));
    const predicted = (ts: readonly LiveTrack[]): { box: ReturnType<LiveTrack['predict']>; label: string }[] => ts.map((t) => ({ box: t.predict(at), label: t.label }));

    const started: LiveTrack[] = [];
    const updated: LiveTrack[] = [];
    const ended: LiveTrack[] = [];
    const established = this.#live.filter((t) => t.state !== 'tentative');
    const tentative = this.#live.filter((t) => t.state === 'tentative');

    // 1. Confirmed and lost tracks take high-score detections.
    const first = associateByIou(predicted(established), asCandidates(high), { minIou: this.#o.matchIou });
    for (const m of first.matches) this.#match(established[m.track], high[m.detection], at, geometry, started, updated);
    const highLeft = first.unmatchedDetections.map((i) => high[i]).filter((d): d is TrackerDetection => d !== undefined);

    // 2. Tracks seen last frame but unmatched take low-score detections (occlusion, blur). Lost tracks do not: too risky.
    const stillOpen = first.unmatchedTracks.map((i) => established[i]).filter((t): t is LiveTrack => t !== undefined);
    const wasTracked = stillOpen.filter((t) => t.state === 'confirmed');
    const second = associateByIou(predicted(wasTracked), asCandidates(low), { minIou: this.#o.lowMatchIou });
    const matchedSecond = new Set<LiveTrack>();
    for (const m of second.matches) {
      const t = wasTracked[m.track];
      if (t !== undefined) matchedSecond.add(t);
      this.#match(t, low[m.detection], at, geometry, started, updated);
    }

    // 3. Tentative tracks take what high-score detections are left.
    const third = associateByIou(predicted(tentative), asCandidates(highLeft), { minIou: this.#o.tentativeMatchIou, maxCentreDistance: this.#o.tentativeMaxJump });
    for (const m of third.matches) this.#match(tentative[m.track], highLeft[m.detection], at, geometry, started, updated);

    // 4. Unmatched: tentative tracks vanish, confirmed ones become lost and end after maxAgeMs.
    const gone = new Set<LiveTrack>();
    for (const i of third.unmatchedTracks) {
      const t = tentative[i];
      if (t === undefined) continue;
      gone.add(t);
      this.#discardedTentative++;
    }
    for (const t of stillOpen) {
      if (matchedSecond.has(t)) continue;
      t.misses++;
      t.state = 'lost';
      if (at - t.lastSeen > this.#o.maxAgeMs) {
        gone.add(t);
        ended.push(t);
      }
    }
    this.#live = this.#live.filter((t) => !gone.has(t));
    this.#endedTotal += ended.length;

    // 5. Leftover confident detections start new tracks.
    for (const i of third.unmatchedDetections) {
      const d = highLeft[i];
      if (d === undefined || d.score < this.#o.newTrackScore) continue;
      const t = new LiveTrack(this.#nextKey++, this.#o.camera, d, at, geometry);
      this.#live.push(t);
      if (t.hits >= this.#o.minHits) this.#confirm(t, started);
    }

    const byId = (a: LiveTrack, b: LiveTrack): number => a.key - b.key;
    return {
      at,
      started: started.sort(byId).map((t) => t.snapshot(at)),
      updated: updated.sort(byId).map((t) => t.snapshot(at)),
      ended: ended.sort(byId).map((t) => t.snapshot(at)),
      tracks: this.#reported(at),
      stale: false,
    };
  }

  /** Ends every confirmed or lost track (the stream stopped); tentative ones are dropped. */
  endAll(at: number): Track[] {
    const ended = this.#live.filter((t) => t.state !== 'tentative').sort((a, b) => a.key - b.key);
    this.#discardedTentative += this.#live.length - ended.length;
    this.#endedTotal += ended.length;
    this.#live = [];
    return ended.map((t) => t.snapshot(at));
  }

  /** Confirmed and lost tracks as of the last frame. */
  tracks(): Track[] {
    return this.#lastAt === null ? [] : this.#reported(this.#lastAt);
  }

  toJSON(): TrackerStats {
    const tentative = this.#live.filter((t) => t.state === 'tentative').length;
    return {
      camera: this.#o.camera,
      frames: this.#frames,
      staleFrames: this.#staleFrames,
      activeTracks: this.#live.length - tentative,
      tentativeTracks: tentative,
      startedTotal: this.#startedTotal,
      endedTotal: this.#endedTotal,
      discardedTentative: this.#discardedTentative,
      lastAt: this.#lastAt,
      options: { ...this.#o },
    };
  }

  #match(track: LiveTrack | undefined, detection: TrackerDetection | undefined, at: number, geometry: TrackGeometry, started: LiveTrack[], updated: LiveTrack[]): void {
    if (track === undefined || detection === undefined) return;
    track.update(detection, at, geometry);
    if (track.state === 'tentative') {
      if (track.hits >= this.#o.minHits) this.#confirm(track, started);
      return;
    }
    track.state = 'confirmed';
    updated.push(track);
  }

  #confirm(track: LiveTrack, started: LiveTrack[]): void {
    track.state = 'confirmed';
    // Ids are handed out on confirmation so spurious detections do not leave gaps in the numbering.
    track.id = `${this.#o.idPrefix}:${this.#nextId++}`;
    this.#startedTotal++;
    started.push(track);
  }

  #geometry(frame: TrackerFrame): TrackGeometry {
    const frameWidth = frame.frameWidth ?? this.#o.frameWidth;
    const frameHeight = frame.frameHeight ?? this.#o.frameHeight;
    if (this.#o.zones.length > 0 && !(frameWidth > 0 && frameHeight > 0)) {
      throw new TrackerOptionsError('zones need a frame size: set frameWidth/frameHeight in the options or on the frame');
    }
    return { zones: this.#o.zones, frameWidth, frameHeight, pathLength: this.#o.pathLength, velocityWeight: this.#o.velocityWeight };
  }

  #reported(at: number): Track[] {
    return this.#live.filter((t) => t.state !== 'tentative').sort((a, b) => a.key - b.key).map((t) => t.snapshot(at));
  }
}
