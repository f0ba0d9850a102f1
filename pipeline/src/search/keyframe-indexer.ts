import { createLogger, type Logger, type VectorIndex } from '@chronotrace/platform';
import type { Embedder } from '../embed/embedder';

/** A track's best view (the redacted crop of its subject), to be embedded for search. */
export interface Keyframe {
  trackId: string;
  camera: string;
  /** Capture time of the view, ms epoch. */
  at: number;
  jpeg: Uint8Array;
}

/** Where the scene stage hands keyframes (a KeyframeIndexer). */
export interface KeyframeSink {
  offer(k: Keyframe): void;
  /** Drops vectors of views captured before `before` (with the track summaries' retention). */
  prune(before: number): Promise<number>;
}

export interface KeyframeIndexerOptions {
  embedder: Embedder;
  index: VectorIndex;
  logger?: Logger;
  /** Keyframes waiting to be embedded; past this the oldest is dropped (counted). Default 500. */
  maxPending?: number;
  /** The index is made durable this often while it changes. Default 30 000 ms. */
  flushMs?: number;
}

export interface KeyframeIndexerStats {
  indexed: number;
  failed: number;
  /** Dropped unembedded because the embedder fell behind. */
  dropped: number;
  pending: number;
  /** Embedding time of the last keyframe, ms. */
  lastEmbedMs: number;
}

/**
 * Embeds each track's best view into the vector index, one vector per track (id = track id), beside
 * the live path: one keyframe embeds at a time, a newer view of a track waiting replaces the older,
 * and when the embedder falls behind the oldest waiting is dropped rather than memory growing.
 * A keyframe that fails to embed is logged and skipped; the index is flushed periodically and on close.
 */
export class KeyframeIndexer implements KeyframeSink {
  readonly #o: KeyframeIndexerOptions;
  readonly #log: Logger;
  readonly #pending = new Map<string, Keyframe>();
  #running: Promise<void> | null = null;
  /** No more offers (closing). */
  #closed = false;
  #unflushed = 0;
  readonly #timer: NodeJS.Timeout;
  readonly #stats: Omit<KeyframeIndexerStats, 'pending'> = { indexed: 0, failed: 0, dropped: 0, lastEmbedMs: 0 };
  readonly #idle = new Set<() => void>();

  constructor(o: KeyframeIndexerOptions) {
    this.#o = o;
    this.#log = o.logger ?? createLogger('keyframes');
    this.#timer = setInterval(() => void this.#flush(), o.flushMs ?? 30_000);
    this.#timer.unref();
  }

  /** The model the vectors come from (`name@version`): searches must embed their text with the same. */
  get model(): string {
    return `${this.#o.embedder.name}@${this.#o.embedder.version}`;
  }

  offer(k: Keyframe): void {
    if (this.#closed) return;
    if (this.#pending.has(k.trackId)) this.#pending.delete(k.trackId);
    else if (this.#pending.size >= (this.#o.maxPending ?? 500)) {
      const oldest = this.#pending.keys().next().value;
      if (oldest !== undefined) this.#pending.delete(oldest);
      if (this.#stats.dropped++ % 100 === 0) this.#log.warn({ dropped: this.#stats.dropped }, 'keyframe embedding falls behind: oldest waiting keyframes dropped (those tracks are not found by similarity)');
    }
    this.#pending.set(k.trackId, k);
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      for (const f of this.#idle) f();
      this.#idle.clear();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const [id, k] = this.#pending.entries().next().value as [string, Keyframe];
      this.#pending.delete(id);
      const t0 = performance.now();
      try {
        const [vector] = await this.#o.embedder.embedImages([k.jpeg]);
        if (!vector) throw new Error('the embedder returned no vector');
        this.#stats.lastEmbedMs = performance.now() - t0;
        await this.#o.index.upsert([{ id: k.trackId, camera: k.camera, at: k.at, vector }]);
        this.#stats.indexed++;
        this.#unflushed++;
      } catch (err) {
        this.#stats.failed++;
        this.#log.warn({ err, camera: k.camera, track: k.trackId }, 'keyframe not indexed: this track is not found by similarity');
      }
    }
  }

  /** Resolves when nothing is waiting or embedding (tests, benchmarks). */
  idle(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  prune(before: number): Promise<number> {
    return this.#o.index.prune(before);
  }

  async #flush(): Promise<void> {
    if (this.#unflushed === 0) return;
    const n = this.#unflushed;
    this.#unflushed = 0;
    try {
      await this.#o.index.flush();
    } catch (err) {
      this.#unflushed += n;
      this.#log.error({ err }, 'vector index not saved: retrying at the next flush');
    }
  }

  stats(): KeyframeIndexerStats {
    return { ...this.#stats, pending: this.#pending.size };
  }

  /** Takes no more keyframes, embeds those waiting (at most maxPending), flushes. The index stays open (its owner closes it). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
    await this.#flush();
  }
}
