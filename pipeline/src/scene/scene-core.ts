import { SCENE_PATH_POINTS, type RedactedFrameMeta, type SceneSummary, type SceneTrack, type Track, type TrackColors, type TrackEvent } from '@chronotrace/contracts';
import { boxSize } from '../attributes/box-size';
import { ColorNamer, type ColorAttributes, type ColorNamerOptionsInput, type ColorSubjectKind } from '../attributes/color-namer';
import type { RgbImage } from '../attributes/rgb-image';
import { withCarriedObjects, type CarriedObjectsOptions } from '../matching/carried-objects';
import { Tracker, parseTrackerOptions, type TrackerOptions, type TrackerStats } from '../tracking/tracker';
import type { Zone } from '../tracking/zones';
import { ReidDescriber, type ReidDescriberOptions } from '../reid/describer';

/** Tracker settings the scene core passes through (camera, zones, id prefix and frame size are its own). */
export type SceneTrackerOptions = Omit<TrackerOptions, 'camera' | 'idPrefix' | 'zones' | 'frameWidth' | 'frameHeight'>;

export interface SceneCoreOptions {
  /** Zones of a camera (normalised polygons from streams.config), read on every frame; a change restarts that camera's tracker. */
  zonesFor: (camera: string) => readonly Zone[];
  /** Unique per process run, so track ids (`<camera>:<session><generation>:<n>`) never repeat across restarts. */
  session: string;
  tracker?: SceneTrackerOptions;
  colors?: ColorNamerOptionsInput;
  carried?: CarriedObjectsOptions;
  /** How person tracks are described for re-identification. */
  reid?: ReidDescriberOptions;
  /** A camera with no frame for this long is forgotten (its tracks end). Default 300 000 ms. */
  idleMs?: number;
}

export const DEFAULT_SCENE_IDLE_MS = 300_000;

const VEHICLES = new Set(['bicycle', 'car', 'motorcycle', 'bus', 'truck', 'train', 'boat', 'airplane']);

function kindOf(label: string): ColorSubjectKind {
  if (label === 'person') return 'person';
  return VEHICLES.has(label) ? 'vehicle' : 'object';
}

function toTrackColors(a: ColorAttributes): TrackColors {
  const out: TrackColors = {};
  for (const part of ['any', 'upper', 'lower'] as const) {
    const p = a[part];
    if (p) out[part] = { dominant: p.dominant, colors: p.colors.map((c) => ({ color: c.color, fraction: Math.round(c.fraction * 1000) / 1000 })) };
  }
  return out;
}

interface CameraScene {
  tracker: Tracker;
  zonesKey: string;
  generation: number;
  /** Last colours measured per track id. */
  colors: Map<string, TrackColors>;
  lastFrameAt: number;
  /** Wall-clock ms its last frame was processed (an uploaded video's frames are stamped in the past). */
  lastArrivedAt: number;
}

/** The result of one frame: what to publish, and what changed for the store. */
export interface SceneResult {
  summary: SceneSummary;
  started: Track[];
  ended: Track[];
  /** Person tracks announced (described well enough to re-identify) or ended, for the re-ID stage. */
  trackEvents: TrackEvent[];
}

/** Cameras forgotten for idleness: their tracks ended, and the re-ID reports of those. */
export interface SceneSweep {
  ended: Track[];
  trackEvents: TrackEvent[];
}

export interface SceneCoreStats {
  frames: number;
  staleFrames: number;
  colorRuns: number;
  cameras: Record<string, TrackerStats>;
  colorNamer: ReturnType<ColorNamer['toJSON']>;
}

/**
 * The scene stage's pure core: per camera a Tracker over the privacy stage's COCO boxes, colour
 * names for each track measured on the redacted frame's pixels (the head is never sampled: it is
 * redacted anyway), size class, zones and dwell, and carried objects (a bag overlapping a person).
 * Time comes from the frames; the caller decodes pixels only when `wantsPixels` says so.
 */
export class SceneCore {
  readonly #o: SceneCoreOptions;
  readonly #cameras = new Map<string, CameraScene>();
  /** Tracker generations per camera, kept after a camera is forgotten so its track ids never repeat. */
  readonly #generations = new Map<string, number>();
  readonly #namer: ColorNamer;
  readonly #reid: ReidDescriber;
  #frames = 0;
  #stale = 0;
  #colorRuns = 0;

  constructor(options: SceneCoreOptions) {
    this.#o = options;
    this.#namer = new ColorNamer(options.colors ?? {});
    this.#reid = new ReidDescriber(options.reid);
    // Fail at construction, not on the first frame, when the tracker options are bad.
    parseTrackerOptions({ ...options.tracker, camera: 'check' });
  }

  /**
   * Whether `process` needs this frame's pixels: the detector ran (boxes moved) and there are
   * objects, or there are objects whose colours this camera has never measured.
   */
  wantsPixels(meta: RedactedFrameMeta): boolean {
    const objects = meta.redaction.objects;
    if (objects.length === 0) return false;
    const cam = this.#cameras.get(meta.camera);
    return meta.redaction.motion.ran || !cam || cam.colors.size === 0;
  }

  /** Tracks one frame; null when it is not newer than the camera's last frame (a redelivery or reordering). */
  process(meta: RedactedFrameMeta, image: RgbImage | null, started = Date.now()): SceneResult | null {
    const cam = this.#camera(meta.camera, meta.capturedAt);
    const update = cam.tracker.update({ at: meta.capturedAt, detections: meta.redaction.objects, frameWidth: meta.width, frameHeight: meta.height });
    if (update.stale) {
      this.#stale++;
      return null;
    }
    this.#frames++;
    cam.lastFrameAt = meta.capturedAt;
    cam.lastArrivedAt = started;
    const fresh = image !== null && image.width === meta.width && image.height === meta.height;
    if (fresh) this.#colorRuns++;
    const withColors = update.tracks.map((t): Track & { attributes?: TrackColors } => {
      // Only boxes matched on this frame are measured: a coasting (lost) track's box is stale.
      if (fresh && t.lastSeen === meta.capturedAt) {
        const a = this.#namer.name(image, t.box, kindOf(t.label));
        if (a.any) cam.colors.set(t.id, toTrackColors(a));
      }
      const colors = cam.colors.get(t.id);
      return colors ? { ...t, attributes: colors } : t;
    });
    const tracks: SceneTrack[] = withCarriedObjects(withColors, this.#o.carried).map((t) => ({
      ...t,
      path: t.path.length > SCENE_PATH_POINTS ? t.path.slice(-SCENE_PATH_POINTS) : t.path,
      size: boxSize(t.box, { height: meta.height }),
    }));
    for (const t of update.ended) cam.colors.delete(t.id);
    const trackEvents = [...this.#reid.observe(meta.capturedAt, update.tracks, fresh ? image : null), ...this.#reid.end(update.ended)];
    return {
      summary: {
        tracks,
        started: update.started.map((t) => t.id),
        ended: update.ended.map((t) => t.id),
        ms: Math.round((Date.now() - started) * 100) / 100,
        attributesFresh: fresh,
      },
      started: update.started,
      ended: update.ended,
      trackEvents,
    };
  }

  /**
   * Ends and forgets cameras that sent no frame for idleMs (wall clock `now`: an uploaded video's frames
   * are stamped in the past, and it must not be swept while it is being processed); returns their ended tracks.
   */
  sweep(now: number): SceneSweep {
    const ended: Track[] = [];
    for (const [id, cam] of this.#cameras) {
      if (now - cam.lastArrivedAt < (this.#o.idleMs ?? DEFAULT_SCENE_IDLE_MS)) continue;
      ended.push(...cam.tracker.endAll(cam.lastFrameAt));
      this.#cameras.delete(id);
    }
    return { ended, trackEvents: this.#reid.end(ended) };
  }

  /** Forgets a removed camera's tracks at once, with no reports (its tracker restarts if frames come again). */
  forget(camera: string): void {
    this.#cameras.delete(camera);
    this.#reid.forget(camera);
  }

  toJSON(): SceneCoreStats {
    const cameras: Record<string, TrackerStats> = {};
    for (const [id, c] of this.#cameras) cameras[id] = c.tracker.toJSON();
    return { frames: this.#frames, staleFrames: this.#stale, colorRuns: this.#colorRuns, cameras, colorNamer: this.#namer.toJSON() };
  }

  #camera(camera: string, at: number): CameraScene {
    const zones = this.#o.zonesFor(camera);
    const zonesKey = JSON.stringify(zones);
    let cam = this.#cameras.get(camera);
    if (cam && cam.zonesKey === zonesKey) return cam;
    const generation = (this.#generations.get(camera) ?? -1) + 1;
    this.#generations.set(camera, generation);
    const tracker = new Tracker({
      ...this.#o.tracker,
      camera,
      idPrefix: `${camera}:${this.#o.session}${generation > 0 ? `.${generation}` : ''}`,
      zones,
    });
    cam = { tracker, zonesKey, generation, colors: new Map(), lastFrameAt: at, lastArrivedAt: Date.now() };
    this.#cameras.set(camera, cam);
    return cam;
  }
}
