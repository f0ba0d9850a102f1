export interface BackoffOptions {
  /** First delay. Default 500 ms. */
  initialMs?: number;
  /** Each further delay is the previous one times this. Default 2. */
  factor?: number;
  /** Delays never exceed this. Default 10 000 ms. */
  maxMs?: number;
}

export const DEFAULT_BACKOFF = { initialMs: 500, factor: 2, maxMs: 10_000 } as const;

/** Capped exponential backoff: initial × factor^n, at most maxMs. Pure: the caller owns the timers. */
export class Backoff {
  readonly initialMs: number;
  readonly factor: number;
  readonly maxMs: number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? DEFAULT_BACKOFF.initialMs;
    this.factor = options.factor ?? DEFAULT_BACKOFF.factor;
    this.maxMs = options.maxMs ?? DEFAULT_BACKOFF.maxMs;
    if (!(this.initialMs >= 0) || !(this.factor >= 1) || !(this.maxMs >= this.initialMs)) {
      throw new RangeError('backoff needs initialMs ≥ 0, factor ≥ 1 and maxMs ≥ initialMs');
    }
  }

  /** The delay before the next attempt; each call counts one attempt. */
  next(): number {
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** this.#attempt);
    if (delay < this.maxMs) this.#attempt += 1;
    return delay;
  }

  /** Back to initialMs (after the source has stayed healthy for a while). */
  reset(): void {
    this.#attempt = 0;
  }

  get attempts(): number {
    return this.#attempt;
  }
}
