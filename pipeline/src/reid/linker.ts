import { similarity, type Appearance } from './appearance';

/** A track as the linker sees it: where and when it was, and what it looked like. */
export interface ReidTrack {
  trackId: string;
  camera: string;
  start: number;
  end: number;
  appearance: Appearance;
}

export interface ReidLink {
  /** The track that ended on one camera … */
  from: string;
  /** … and the one that started on another. */
  to: string;
  fromCamera: string;
  toCamera: string;
  /** Seconds from the end of `from` to the start of `to`. */
  transitSeconds: number;
  appearance: number;
  transit: number;
  /** appearance × transit likelihood, 0..1. */
  confidence: number;
}

export interface ReidLinkerOptions {
  /** Longest transit considered between two cameras, s. Default 300. */
  maxTransitSeconds?: number;
  /** A link needs at least this confidence. Default 0.55. */
  minConfidence?: number;
  /** … and to beat the next candidate by this much (else it is ambiguous and stays unlinked). Default 0.08. */
  minMargin?: number;
  /** Before a camera pair has learned transits, only appearances this alike link (bootstrapping the topology). Default 0.85. */
  bootstrapAppearance?: number;
  /** Transits a pair needs before its learned window is trusted. Default 3. */
  minTransits?: number;
}

/** Transit times (s) of one ordered camera pair's links, the most recent MAX_SAMPLES. */
interface PairModel {
  samples: number[];
  total: number;
}

const MAX_SAMPLES = 100;
/** Kernel width of the transit density: this share of the transit, at least MIN_BANDWIDTH_S. */
const BANDWIDTH_SHARE = 0.2;
const MIN_BANDWIDTH_S = 3;

/**
 * Links a track that starts on one camera to one that ended on another, without calibration: the
 * camera topology (which pairs exchange people, and within what time) is learned online from the links
 * it makes, starting from near-certain appearance matches; afterwards a link needs appearance ×
 * transit likelihood above a confidence and a margin over the next candidate (ambiguous links stay
 * unlinked). Identities are the chains of links.
 */
export class ReidLinker {
  readonly #o: Required<ReidLinkerOptions>;
  /** Ended tracks waiting for a successor, newest last. */
  #ended: ReidTrack[] = [];
  readonly #pairs = new Map<string, PairModel>();
  /** Track → identity (the first track's id of its chain). */
  readonly #identity = new Map<string, string>();
  readonly #linkedFrom = new Set<string>();
  readonly links: ReidLink[] = [];

  constructor(options: ReidLinkerOptions = {}) {
    this.#o = { maxTransitSeconds: 300, minConfidence: 0.55, minMargin: 0.08, bootstrapAppearance: 0.85, minTransits: 3, ...options };
  }

  /** A track ended: it may continue on another camera. */
  ended(t: ReidTrack): void {
    this.#ended.push(t);
    this.#identity.set(t.trackId, this.#identity.get(t.trackId) ?? t.trackId);
  }

  /** A track started: the link to the track it continues, if one is confident and unambiguous. */
  started(t: ReidTrack): ReidLink | null {
    const horizon = t.start - this.#o.maxTransitSeconds * 1000;
    this.#ended = this.#ended.filter((e) => e.end >= horizon);
    const scored: ReidLink[] = [];
    for (const e of this.#ended) {
      if (e.camera === t.camera || this.#linkedFrom.has(e.trackId) || e.end > t.start) continue;
      const dt = (t.start - e.end) / 1000;
      const appearance = similarity(e.appearance, t.appearance);
      const pair = this.#pairs.get(`${e.camera}>${t.camera}`);
      const learned = pair !== undefined && pair.total >= this.#o.minTransits;
      // A pair with no learned transits yet links only near-identical appearances (and so learns).
      const transit = learned ? this.#likelihood(pair!, dt) : appearance >= this.#o.bootstrapAppearance ? 1 : 0;
      scored.push({ from: e.trackId, to: t.trackId, fromCamera: e.camera, toCamera: t.camera, transitSeconds: Math.round(dt * 10) / 10, appearance, transit, confidence: appearance * transit });
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

  /**
   * The pair's transit density at `dt` (Gaussian kernels on its learned transits, each as wide as 20 %
   * of itself: a walk of 20 s varies by seconds), scaled so its peak is 1. Smooth, so two candidates a
   * second apart score alike and their appearances must tell them apart.
   */
  #likelihood(p: PairModel, dt: number): number {
    const density = (x: number): number => {
      let v = 0;
      for (const s of p.samples) {
        const bw = Math.max(MIN_BANDWIDTH_S, s * BANDWIDTH_SHARE);
        v += Math.exp(-((x - s) ** 2) / (2 * bw * bw));
      }
      return v;
    };
    let peak = 0;
    for (const s of p.samples) peak = Math.max(peak, density(s));
    return peak > 0 ? Math.min(1, density(dt) / peak) : 0;
  }

  #link(l: ReidLink): void {
    this.links.push(l);
    this.#linkedFrom.add(l.from);
    this.#identity.set(l.to, this.#identity.get(l.from) ?? l.from);
    const key = `${l.fromCamera}>${l.toCamera}`;
    let p = this.#pairs.get(key);
    if (!p) this.#pairs.set(key, (p = { samples: [], total: 0 }));
    p.samples.push(l.transitSeconds);
    if (p.samples.length > MAX_SAMPLES) p.samples.shift();
    p.total++;
  }

  /** The identity of a track: the first track of its chain of links. */
  identityOf(trackId: string): string {
    return this.#identity.get(trackId) ?? trackId;
  }

  /** Learned camera pairs: transits seen and the median transit time. */
  topology(): { from: string; to: string; transits: number; typicalSeconds: number }[] {
    return [...this.#pairs].map(([k, p]) => {
      const [from, to] = k.split('>') as [string, string];
      const sorted = [...p.samples].sort((a, b) => a - b);
      return { from, to, transits: p.total, typicalSeconds: sorted[Math.floor(sorted.length / 2)] ?? 0 };
    });
  }
}
