import type { ReidLink, TopologyEdge } from '@chronotrace/contracts';
import { similarity, type Appearance } from './appearance';

/** A track as the linker sees it: where and when it was, and what it looked like. */
export interface ReidTrack {
  trackId: string;
  camera: string;
  start: number;
  end: number;
  appearance: Appearance;
}

export interface ReidLinkerOptions {
  /** Longest transit considered between two cameras, s. Default 300. */
  maxTransitSeconds?: number;
  /** A link needs at least this confidence. Default 0.5. */
  minConfidence?: number;
  /** … and to beat the next candidate by this much (else it is ambiguous and stays unlinked). Default 0.1. */
  minMargin?: number;
  /** Before a camera pair's transit times are known, only appearances this alike link. Default 0.95. */
  bootstrapAppearance?: number;
  /** Tracks started on a camera (each against every track that ended on the other) before the pair's transit density is trusted. Default 8. */
  minStarts?: number;
  /** The density's peak must stand this many times above its background (uniform) level to count as a real transit. Default 2.5. */
  minPeakRatio?: number;
}

/**
 * Transit times of one ordered camera pair, learned by co-occurrence (no labels, no calibration): each
 * track starting on `to` adds the time since every track that ended on `from` within the window, weighted
 * by how alike the two looked. Pairs of the same person pile up at the true transit time; pairs of
 * strangers spread evenly. The density's excess over that even background is the transit likelihood.
 */
interface PairModel {
  deltas: { dt: number; w: number }[];
  /** Distinct successor tracks that contributed. */
  starts: number;
  /** Cached peak of the density (recomputed as deltas arrive). */
  peak: number;
  peakAt: number;
  dirty: number;
}

const MAX_DELTAS = 4000;
const MAX_LINKS_KEPT = 1000;
/** Kernel width of the transit density: this share of the transit, at least MIN_BANDWIDTH_S. */
const BANDWIDTH_SHARE = 0.04;
const MIN_BANDWIDTH_S = 1;
/** The peak is searched on this grid, s. */
const GRID_S = 0.5;

/**
 * Links a track that starts on one camera to one that ended on another, without calibration: the
 * camera topology (which pairs exchange people, and within what time) is learned online from the
 * co-occurrence of ends and starts; a link needs appearance × transit likelihood above a confidence
 * and a margin over the next candidate (ambiguous links stay unlinked). Identities are the chains of links.
 */
export class ReidLinker {
  readonly #o: Required<ReidLinkerOptions>;
  /** Ended tracks waiting for a successor, newest last. */
  #ended: ReidTrack[] = [];
  readonly #pairs = new Map<string, PairModel>();
  /** Successor tracks already counted in the co-occurrence (a track is offered again when it ends). */
  readonly #counted = new Set<string>();
  /** Track → identity (the first track's id of its chain). */
  readonly #identity = new Map<string, string>();
  readonly #linkedFrom = new Set<string>();
  readonly #linkedTo = new Set<string>();
  /** The links this linker made, the most recent MAX_LINKS_KEPT. */
  readonly links: ReidLink[] = [];

  constructor(options: ReidLinkerOptions = {}) {
    this.#o = { maxTransitSeconds: 300, minConfidence: 0.5, minMargin: 0.1, bootstrapAppearance: 0.95, minStarts: 8, minPeakRatio: 2.5, ...options };
  }

  /** A track ended: it may continue on another camera. */
  ended(t: ReidTrack): void {
    this.#ended.push(t);
  }

  /** Whether a track already continues another (it was linked as a successor). */
  isLinked(trackId: string): boolean {
    return this.#linkedTo.has(trackId);
  }

  /**
   * A track started (or is now better described): the link to the track it continues, if one is
   * confident and unambiguous. `now` stamps the link.
   */
  started(t: ReidTrack, now = Date.now()): ReidLink | null {
    if (this.#linkedTo.has(t.trackId)) return null;
    this.#forgetBefore(t.start - this.#o.maxTransitSeconds * 1000);
    const candidates: { e: ReidTrack; dt: number; appearance: number }[] = [];
    for (const e of this.#ended) {
      if (e.camera === t.camera || e.end > t.start) continue;
      candidates.push({ e, dt: (t.start - e.end) / 1000, appearance: similarity(e.appearance, t.appearance) });
    }
    if (!this.#counted.has(t.trackId)) {
      this.#counted.add(t.trackId);
      const touched = new Set<PairModel>();
      for (const c of candidates) {
        const p = this.#pair(c.e.camera, t.camera);
        p.deltas.push({ dt: c.dt, w: c.appearance * c.appearance });
        if (p.deltas.length > MAX_DELTAS) p.deltas.shift();
        p.dirty++;
        touched.add(p);
      }
      for (const p of touched) p.starts++;
    }
    const scored: ReidLink[] = [];
    const r = (v: number): number => Math.round(v * 1000) / 1000;
    for (const c of candidates) {
      if (this.#linkedFrom.has(c.e.trackId)) continue;
      const pair = this.#pairs.get(`${c.e.camera}>${t.camera}`);
      const learned = pair !== undefined && this.#trusted(pair);
      // A pair whose transit is not known yet links only near-identical appearances.
      const transit = learned ? this.#likelihood(pair!, c.dt) : c.appearance >= this.#o.bootstrapAppearance ? 1 : 0;
      scored.push({ identity: this.identityOf(c.e.trackId), from: c.e.trackId, to: t.trackId, fromCamera: c.e.camera, toCamera: t.camera, transitSeconds: Math.round(c.dt * 10) / 10, appearance: r(c.appearance), transit: r(transit), confidence: r(c.appearance * transit), linkedAt: now });
    }
    scored.sort((a, b) => b.confidence - a.confidence);
    const best = scored[0];
    if (!best || best.confidence < this.#o.minConfidence) return null;
    const runnerUp = scored[1];
    if (runnerUp && best.confidence - runnerUp.confidence < this.#o.minMargin) return null;
    // Another candidate who looks just as alike and whose transit is plausible too: which one came cannot be told.
    if (runnerUp && runnerUp.appearance >= best.appearance - 0.05 && runnerUp.transit >= best.transit / 2) return null;
    this.#link(best);
    return best;
  }

  #pair(from: string, to: string): PairModel {
    const key = `${from}>${to}`;
    let p = this.#pairs.get(key);
    if (!p) this.#pairs.set(key, (p = { deltas: [], starts: 0, peak: 0, peakAt: 0, dirty: 0 }));
    return p;
  }

  #density(p: PairModel, x: number): number {
    let v = 0;
    const bw = Math.max(MIN_BANDWIDTH_S, x * BANDWIDTH_SHARE);
    for (const d of p.deltas) {
      const z = (x - d.dt) / bw;
      if (z > -4 && z < 4) v += d.w * Math.exp(-0.5 * z * z);
    }
    return v / bw;
  }

  /** The even level a pair's density would have if ends and starts were unrelated (strangers only). */
  #background(p: PairModel): number {
    let w = 0;
    for (const d of p.deltas) w += d.w;
    return (w * Math.sqrt(2 * Math.PI)) / this.#o.maxTransitSeconds;
  }

  #refresh(p: PairModel): void {
    if (p.dirty === 0) return;
    p.dirty = 0;
    p.peak = 0;
    for (let x = 0; x <= this.#o.maxTransitSeconds; x += GRID_S) {
      const v = this.#density(p, x);
      if (v > p.peak) {
        p.peak = v;
        p.peakAt = x;
      }
    }
  }

  /** Enough starts, and a peak that stands out of the background: the pair really exchanges people. */
  #trusted(p: PairModel): boolean {
    if (p.starts < this.#o.minStarts) return false;
    this.#refresh(p);
    return p.peak >= this.#o.minPeakRatio * this.#background(p);
  }

  /** The density's excess over the background at `dt`, as a share of the peak's excess: 1 at the usual transit, 0 where only strangers fall. */
  #likelihood(p: PairModel, dt: number): number {
    this.#refresh(p);
    const bg = this.#background(p);
    const excess = p.peak - bg;
    if (excess <= 0) return 0;
    return Math.max(0, Math.min(1, (this.#density(p, dt) - bg) / excess));
  }

  /** A link made earlier (read back from the store at start-up): its identity, and its transit for the topology. */
  learn(l: ReidLink): void {
    if (this.#linkedTo.has(l.to)) return;
    this.#linkedFrom.add(l.from);
    this.#linkedTo.add(l.to);
    this.#identity.set(l.to, l.identity);
    this.#learnTransit(l);
  }

  #link(l: ReidLink): void {
    this.links.push(l);
    if (this.links.length > MAX_LINKS_KEPT) this.links.splice(0, this.links.length - MAX_LINKS_KEPT);
    this.#linkedFrom.add(l.from);
    this.#linkedTo.add(l.to);
    this.#identity.set(l.to, l.identity);
  }

  /** Ended tracks older than the longest transit can no longer be continued: forgotten, with their identities. */
  #forgetBefore(horizon: number): void {
    if (!this.#ended.some((e) => e.end < horizon)) return;
    const keep: ReidTrack[] = [];
    for (const e of this.#ended) {
      if (e.end >= horizon) keep.push(e);
      else {
        this.#linkedFrom.delete(e.trackId);
        this.#linkedTo.delete(e.trackId);
        this.#identity.delete(e.trackId);
        this.#counted.delete(e.trackId);
      }
    }
    this.#ended = keep;
  }

  /** A stored link (a restart): its transit counts as a certain co-occurrence. */
  #learnTransit(l: ReidLink): void {
    if (this.#counted.has(l.to)) return;
    this.#counted.add(l.to);
    const p = this.#pair(l.fromCamera, l.toCamera);
    p.deltas.push({ dt: l.transitSeconds, w: 1 });
    if (p.deltas.length > MAX_DELTAS) p.deltas.shift();
    p.starts++;
    p.dirty++;
  }

  /** The identity of a track: the first track of its chain of links. */
  identityOf(trackId: string): string {
    return this.#identity.get(trackId) ?? trackId;
  }

  /** Camera pairs whose transit is known: tracks counted, and the usual transit time (the density's peak). */
  topology(): TopologyEdge[] {
    const out: TopologyEdge[] = [];
    for (const [k, p] of this.#pairs) {
      if (!this.#trusted(p)) continue;
      const [from, to] = k.split('>') as [string, string];
      out.push({ from, to, transits: p.starts, typicalSeconds: p.peakAt });
    }
    return out;
  }
}
