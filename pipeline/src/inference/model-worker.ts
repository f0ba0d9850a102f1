import { Worker } from 'node:worker_threads';
import type { ModelVersion } from '@chronotrace/contracts';
import type { Logger } from '@chronotrace/platform';
import { DetectorClosedError, InferenceTimeoutError, ModelLoadError, WorkerExitedError } from './errors';
import type { SharedRgbFrame } from './image-tensor';

/** The worker's first message once its model is loaded. */
export interface ModelWorkerReady {
  type: 'ready';
  versions: ModelVersion[];
  backend: string;
}

/** The messages a model worker sends (served by model-server.ts). */
export type ModelWorkerResult<B> =
  | { type: 'result'; id: number; ok: true; boxes: B[]; inferMs: number }
  | { type: 'result'; id: number; ok: false; message: string };

export type ModelWorkerResponse<B, R extends ModelWorkerReady> = R | { type: 'init-error'; message: string } | ModelWorkerResult<B>;

export interface ModelWorkerOptions<R extends ModelWorkerReady> {
  /** Names the detector in errors and logs ('face', 'object'). */
  what: string;
  /** Owner's class name for DetectorClosedError. */
  owner: string;
  /** The worker's source file (TypeScript, started through `bootstrap`). */
  entry: URL;
  /** Code that starts `entry` (see workerBootstrap). */
  bootstrap: (entry: URL) => string;
  workerData: unknown;
  startTimeoutMs: number;
  /** A request taking this long means the worker is stuck: it is terminated and restarted. */
  hangMs: number;
  log: Logger;
  /** Called with each worker's ready message (a restarted worker too). */
  onReady(ready: R): void;
}

interface Pending<B> {
  resolve: (r: { boxes: B[]; ms: number; inferMs: number }) => void;
  reject: (e: Error) => void;
  started: number;
  timer: NodeJS.Timeout;
}

/**
 * One model in a worker thread, shared by the face and object detectors: starts it (with a deadline),
 * sends detect requests (the frame's shared pixels, or a transferred copy of its JPEG), answers them by id, fails them all when the
 * worker dies, terminates a worker stuck on a request and starts a new one on the next call.
 */
export class ModelWorker<P, B, R extends ModelWorkerReady> {
  private worker: Worker | undefined;
  private starting: Promise<void> | undefined;
  private readonly pending = new Map<number, Pending<B>>();
  private nextId = 1;
  private closed = false;
  private spawned = 0;
  /** Workers started after the first (crash or hang). */
  restarts = 0;
  /** Requests the worker answered with an error or never answered. */
  failures = 0;

  constructor(private readonly o: ModelWorkerOptions<R>) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Loads the model. Idempotent; request() calls it too. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new DetectorClosedError(this.o.owner));
    this.starting ??= this.spawn().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  private spawn(): Promise<void> {
    const { what } = this.o;
    const worker = new Worker(this.o.bootstrap(this.o.entry), { eval: true, workerData: this.o.workerData, execArgv: [] });
    if (this.spawned++ > 0) this.restarts++;
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new InferenceTimeoutError(`${what} model start`, this.o.startTimeoutMs));
        void worker.terminate();
      }, this.o.startTimeoutMs);
      timer.unref();
      worker.on('message', (m: ModelWorkerResponse<B, R>) => {
        // The generic R does not narrow on `type`: the casts follow the discriminant just checked.
        if (m.type === 'result') this.settle(m as ModelWorkerResult<B>);
        else if (m.type === 'init-error') {
          clearTimeout(timer);
          reject(new ModelLoadError(`${what} model failed to load: ${(m as { message: string }).message}`));
          void worker.terminate();
        } else {
          clearTimeout(timer);
          this.o.onReady(m as R);
          resolve();
        }
      });
      worker.on('error', (e) => {
        clearTimeout(timer);
        this.o.log.error({ err: e }, `${what} worker error`);
        reject(new ModelLoadError(`${what} worker failed`, { cause: e }));
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        if (this.worker === worker) {
          this.worker = undefined;
          this.starting = undefined;
        }
        reject(new WorkerExitedError(`${what} worker exited with code ${code} before it was ready`));
        this.failAll(new WorkerExitedError(`${what} worker exited with code ${code}`));
      });
    });
  }

  private settle(m: ModelWorkerResult<B>): void {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.ok) p.resolve({ boxes: m.boxes, ms: performance.now() - p.started, inferMs: m.inferMs });
    else {
      this.failures++;
      p.reject(new Error(`${this.o.what} detection failed: ${m.message}`));
    }
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(e);
    }
    this.pending.clear();
  }

  /**
   * Runs the model on one frame: its decoded pixels when the caller has them in shared memory (no copy,
   * no decode in the worker), else the JPEG (decoded by the worker). Rejects with WorkerExitedError if
   * the worker dies meanwhile (the next call restarts it).
   */
  async request(jpeg: Uint8Array, params: P, rgb?: SharedRgbFrame): Promise<{ boxes: B[]; ms: number; inferMs: number }> {
    await this.start();
    const worker = this.worker;
    if (!worker || this.closed) throw new DetectorClosedError(this.o.owner);
    const id = this.nextId++;
    // The shared pixels go as they are; without them a copy of the JPEG: the caller keeps its bytes (the
    // redactor needs them), and the copy's buffer is transferred, not cloned again.
    const bytes = rgb ? undefined : new Uint8Array(jpeg);
    const frame = rgb ? { rgb: { data: rgb.data, width: rgb.width, height: rgb.height } } : { jpeg: bytes };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.failures++;
        reject(new InferenceTimeoutError(`${this.o.what} detection`, this.o.hangMs));
        this.o.log.warn({ hangMs: this.o.hangMs }, `${this.o.what} worker hung: restarting it`);
        void worker.terminate();
      }, this.o.hangMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, started: performance.now(), timer });
      worker.postMessage({ type: 'detect', id, ...frame, params }, bytes ? [bytes.buffer] : []);
    });
  }

  /** Stops the worker and fails requests in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new DetectorClosedError(this.o.owner));
    if (worker) await worker.terminate();
  }
}
