/**
 * Group commit for writes on the hot path: `add()` resolves once its item is stored. The first item of
 * a batch waits up to `lingerMs` for others (0: written at once); items that arrive while a write is in
 * flight go together in the next. The embedded store is one connection on the event loop, where a
 * statement per frame costs ~1 ms of CPU and a row in a batch of 8 ~0.1 ms. A failed write rejects each
 * of its items.
 */
export interface GroupWriterOptions {
  /** How long the first item of a batch waits for company. Default 0. */
  lingerMs?: number;
  /** Most items in one write (a full batch is written without waiting). Default 256. */
  maxBatch?: number;
}

export class GroupWriter<T> {
  private queue: { item: T; resolve(): void; reject(e: unknown): void }[] = [];
  private writing: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly lingerMs: number;
  private readonly maxBatch: number;

  constructor(
    private readonly write: (items: T[]) => Promise<void>,
    options: GroupWriterOptions = {},
  ) {
    this.lingerMs = options.lingerMs ?? 0;
    this.maxBatch = options.maxBatch ?? 256;
    if (!Number.isInteger(this.maxBatch) || this.maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${this.maxBatch}`);
    if (!Number.isFinite(this.lingerMs) || this.lingerMs < 0) throw new RangeError(`lingerMs must be ≥ 0, got ${this.lingerMs}`);
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.wake?.();
      this.writing ??= this.drain();
    });
  }

  /** Writes what is waiting now, without lingering, and resolves when every item added so far is written (or failed). */
  async flush(): Promise<void> {
    this.wake?.();
    while (this.writing) {
      this.wake?.();
      await this.writing;
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        if (this.lingerMs > 0 && this.queue.length < this.maxBatch) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              this.wake = undefined;
              resolve();
            }, this.lingerMs);
            this.wake = () => {
              clearTimeout(timer);
              this.wake = undefined;
              resolve();
            };
          });
        }
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          await this.write(batch.map((b) => b.item));
          for (const b of batch) b.resolve();
        } catch (e) {
          for (const b of batch) b.reject(e);
        }
      }
    } finally {
      this.writing = undefined;
    }
  }
}
