import type { Box, Track, TrackEvent } from '@chronotrace/contracts';
import type { RgbImage } from '../attributes/rgb-image';
import { appearanceOf, merge, toDescriptor, type Appearance } from './appearance';

export interface ReidDescriberOptions {
  /** Clean views a track needs before it is announced ('appeared'). Default 3. */
  appearedAfter?: number;
  /** Boxes shorter than this (frame pixels) are too small to describe. Default 40. */
  minHeightPx?: number;
  /** A box covered by another person's box over this share of its area is occluded: not sampled. Default 0.25. */
  maxOccludedShare?: number;
  /** Views that describe a track as it leaves (its last ones). Default 4. */
  exitViews?: number;
}

interface Described {
  /** Its first `appearedAfter` views merged: how it looked when it arrived. */
  entry: Appearance;
  /** Its last `exitViews` views. */
  recent: Appearance[];
  announced: boolean;
  track: Track;
  frameWidth: number;
  frameHeight: number;
}

/**
 * Describes person tracks for re-identification (pure): each clean view of a person (matched on this
 * frame, whole inside the picture, tall enough, not occluded by another person) is described; a track
 * is announced with its first `appearedAfter` views (how it arrived), and reported again when it ends
 * with its last `exitViews` (how it left: what the person looks like to the next camera). Pixels are
 * the redacted frame's; the head is never sampled.
 */
export class ReidDescriber {
  readonly #o: Required<ReidDescriberOptions>;
  readonly #tracks = new Map<string, Described>();

  constructor(options: ReidDescriberOptions = {}) {
    this.#o = { appearedAfter: 3, minHeightPx: 40, maxOccludedShare: 0.25, exitViews: 4, ...options };
  }

  /** One frame's tracks with its pixels (null when not decoded: nothing is sampled). Returns the tracks announced now. */
  observe(at: number, tracks: readonly Track[], image: RgbImage | null): TrackEvent[] {
    if (!image) return [];
    const people = tracks.filter((t) => t.label === 'person' && t.state === 'confirmed' && t.lastSeen === at);
    const out: TrackEvent[] = [];
    for (const t of people) {
      if (!this.#clean(t.box, people, t.id, image)) continue;
      const view = appearanceOf(image.data, image.width, image.height, t.box);
      let d = this.#tracks.get(t.id);
      if (!d) this.#tracks.set(t.id, (d = { entry: view, recent: [view], announced: false, track: t, frameWidth: image.width, frameHeight: image.height }));
      else {
        if (d.entry.samples < this.#o.appearedAfter) d.entry = merge(d.entry, view);
        d.recent.push(view);
        if (d.recent.length > this.#o.exitViews) d.recent.shift();
        d.track = t;
      }
      if (!d.announced && d.entry.samples >= this.#o.appearedAfter) {
        d.announced = true;
        out.push(eventOf('appeared', d, d.entry));
      }
    }
    return out;
  }

  /** Tracks that ended: their final descriptions (tracks never sampled are not reported), and they are forgotten. */
  end(ended: readonly Track[]): TrackEvent[] {
    const out: TrackEvent[] = [];
    for (const t of ended) {
      const d = this.#tracks.get(t.id);
      if (!d) continue;
      this.#tracks.delete(t.id);
      d.track = { ...d.track, lastSeen: Math.max(d.track.lastSeen, t.lastSeen) };
      out.push({ ...eventOf('ended', d, d.recent.reduce((m, v) => merge(m, v))), entry: toDescriptor(d.entry) });
    }
    return out;
  }

  /** Forgets a camera's tracks without reporting them (the camera was removed). */
  forget(camera: string): void {
    for (const [id, d] of this.#tracks) if (d.track.camera === camera) this.#tracks.delete(id);
  }

  get size(): number {
    return this.#tracks.size;
  }

  #clean(b: Box, people: readonly Track[], id: string, image: RgbImage): boolean {
    if (b.h < this.#o.minHeightPx) return false;
    // Cut by the picture's edge: the body bands would be of a partial body.
    const mx = image.width * 0.01;
    const my = image.height * 0.01;
    if (b.x < mx || b.y < my || b.x + b.w > image.width - mx || b.y + b.h > image.height - my) return false;
    const area = b.w * b.h;
    for (const o of people) {
      if (o.id === id) continue;
      const w = Math.min(b.x + b.w, o.box.x + o.box.w) - Math.max(b.x, o.box.x);
      const h = Math.min(b.y + b.h, o.box.y + o.box.h) - Math.max(b.y, o.box.y);
      if (w > 0 && h > 0 && (w * h) / area > this.#o.maxOccludedShare) return false;
    }
    return true;
  }
}

function eventOf(event: TrackEvent['event'], d: Described, look: Appearance): TrackEvent {
  const t = d.track;
  return {
    event,
    trackId: t.id,
    camera: t.camera,
    label: t.label,
    firstSeen: t.firstSeen,
    lastSeen: t.lastSeen,
    box: { x: Math.round(t.box.x), y: Math.round(t.box.y), w: Math.round(t.box.w), h: Math.round(t.box.h) },
    frameWidth: d.frameWidth,
    frameHeight: d.frameHeight,
    appearance: toDescriptor(look),
  };
}
