import { parseSource, type CameraHealth, type CameraState } from '@chronotrace/contracts';
import { Backoff, createLogger, type BackoffOptions, type Logger } from '@chronotrace/platform';
import { EnhancedEventEmitter } from './enhanced-events';
import { ffmpegSourceFactory, type FrameSourceFactory, type SourceCameraConfig } from './frame-source-factory';
import type { FrameSource, SourceExit, SourceFrame } from './frame-source';

/** A frame as the camera hands it on: seq runs on across source restarts. */
export interface CameraFrame {
  camera: string;
  /** ms epoch the supervisor was created; with seq, makes frame ids unique. */
  sessionStart: number;
  /** 0, 1, 2… per supervisor, across source restarts. */
  seq: number;
  capturedAt: number;
  width: number;
  height: number;
  jpeg: Buffer;
}

export type CameraSupervisorEvents = {
  frame: [frame: CameraFrame];
  /** On every state change (and on restart counts and errors that come with one). */
  health: [health: CameraHealth];
  /** Private: tells the owner (IngestService) the camera closed. */
  '@close': [];
};

export interface CameraSupervisorOptions {
  camera: SourceCameraConfig;
  /** Makes a fresh source on start and on every restart. Default: ffmpegSourceFactory(). */
  createSource?: FrameSourceFactory;
  /** Delay between restarts. Default 500 ms × 2^n, capped at 10 s. */
  backoff?: BackoffOptions;
  /** A source that stayed live this long resets the backoff. Default 30 000 ms. */
  resetBackoffAfterMs?: number;
  /** No frame for this long while live → 'stalled' and a restart. Default max(3000, 3000 / fps) ms. */
  stallAfterMs?: number;
  /** No first frame this long after a (re)start → restart. Default max(10 000, stallAfterMs) ms. */
  startTimeoutMs?: number;
  /** How often the watchdog looks. Default 250 ms. */
  watchdogIntervalMs?: number;
  /** Window of the measured fps. Default max(5000, 3000 / fps) ms. */
  fpsWindowMs?: number;
  /** Default: createLogger('media-server.camera', { camera }). */
  logger?: Logger;
}

export interface CameraSupervisorStats {
  camera: string;
  state: CameraState;
  frames: number;
  restarts: number;
  fps: number;
  lastFrameAt: number | null;
  lastError: string | null;
  nextRestartInMs: number | null;
  source: ReturnType<FrameSource['toJSON']> | null;
}

/**
 * Owns one camera's source and keeps it alive. Health: starting → live (first frame) → stalled (no
 * frame for stallAfterMs) or down (the source exited or cannot connect, with ffmpeg's reason). The
 * watchdog restarts a stalled or exited source with capped exponential backoff, for ever, until
 * close(). Never throws into the process: failures become health states.
 */
export class CameraSupervisor extends EnhancedEventEmitter<CameraSupervisorEvents> {
  readonly id: string;
  readonly camera: SourceCameraConfig;
  readonly sessionStart = Date.now();
  readonly #createSource: FrameSourceFactory;
  readonly #backoff: Backoff;
  readonly #resetBackoffAfterMs: number;
  readonly #stallAfterMs: number;
  readonly #startTimeoutMs: number;
  readonly #watchdogIntervalMs: number;
  readonly #fpsWindowMs: number;
  readonly #logger: Logger;

  #state: CameraState = 'starting';
  #source: FrameSource | undefined;
  /** When the current source was started, and whether it has produced a frame yet. */
  #sourceStartedAt = 0;
  #sourceFrames = 0;
  #closingSource: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | undefined;
  #restartAt: number | null = null;
  #watchdog: NodeJS.Timeout | undefined;
  #liveSince: number | null = null;
  #lastFrameAt: number | null = null;
  #lastError: string | null = null;
  #restarts = 0;
  #seq = 0;
  #recent: number[] = [];
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: CameraSupervisorOptions) {
    const logger = options.logger ?? createLogger('media-server.camera', { camera: options.camera.id });
    super(logger);
    this.#logger = logger;
    this.camera = options.camera;
    this.id = options.camera.id;
    this.#createSource = options.createSource ?? ffmpegSourceFactory();
    this.#backoff = new Backoff(options.backoff);
    this.#resetBackoffAfterMs = options.resetBackoffAfterMs ?? 30_000;
    this.#stallAfterMs = options.stallAfterMs ?? Math.max(3000, 3000 / options.camera.fps);
    this.#startTimeoutMs = options.startTimeoutMs ?? Math.max(10_000, this.#stallAfterMs);
    this.#watchdogIntervalMs = options.watchdogIntervalMs ?? 250;
    this.#fpsWindowMs = options.fpsWindowMs ?? Math.max(5000, 3000 / options.camera.fps);
  }

  get state(): CameraState {
    return this.#state;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The running source's process id, if any (for fault tests and diagnostics). */
  get sourcePid(): number | undefined {
    return this.#source?.pid;
  }

  /** Starts the source and the watchdog. An unusable source config ends in 'down' with the reason. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    const parsed = parseSource(this.camera.source);
    if (!parsed.ok) {
      // A config error: no restart would fix it.
      this.#setState('down', parsed.reason);
      return;
    }
    this.#watchdog = setInterval(() => this.#checkWatchdog(), this.#watchdogIntervalMs);
    this.#watchdog.unref();
    this.#setState('starting', this.#lastError);
    this.#spawn();
  }

  health(now = Date.now()): CameraHealth {
    return {
      camera: this.id,
      state: this.#state,
      fps: this.#fps(now),
      lastFrameAt: this.#lastFrameAt,
      restarts: this.#restarts,
      lastError: this.#lastError,
      // Ingest drops nothing and redacts nothing: downstream stages report these.
      skipped: 0,
      redactionFailures: 0,
      at: now,
    };
  }

  /** Stops the watchdog and the source; resolves when the process is gone. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  toJSON(): CameraSupervisorStats {
    const now = Date.now();
    return {
      camera: this.id,
      state: this.#state,
      frames: this.#seq,
      restarts: this.#restarts,
      fps: this.#fps(now),
      lastFrameAt: this.#lastFrameAt,
      lastError: this.#lastError,
      nextRestartInMs: this.#restartAt === null ? null : Math.max(0, this.#restartAt - now),
      source: this.#source?.toJSON() ?? null,
    };
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#watchdog);
    clearTimeout(this.#restartTimer);
    this.#restartAt = null;
    const source = this.#source;
    this.#source = undefined;
    this.#setState('stopped', this.#lastError);
    try {
      await Promise.all([source?.close(), this.#closingSource]);
    } catch (error) {
      this.#logger.warn({ err: error }, 'closing the source failed');
    }
    this.safeEmit('@close');
    this.removeAllListeners();
  }

  #spawn(): void {
    if (this.#closed) return;
    const parsed = parseSource(this.camera.source);
    if (!parsed.ok) return;
    let source: FrameSource;
    try {
      source = this.#createSource(this.camera, parsed.value);
    } catch (error) {
      this.#onExit(undefined, { code: null, signal: null, reason: `cannot create the source: ${errorMessage(error)}`, requested: false, stderrTail: [] });
      return;
    }
    this.#source = source;
    this.#sourceStartedAt = Date.now();
    this.#sourceFrames = 0;
    source.on('frame', (frame) => this.#onFrame(source, frame));
    source.on('exit', (exit) => this.#onExit(source, exit));
    // Up, but nothing to send (nobody publishes): down with the reason, the source kept to take the next publisher.
    source.on('idle', (reason) => {
      if (source === this.#source && !this.#closed) this.#setState('down', reason);
    });
    source.start().catch((error: unknown) => {
      this.#onExit(source, { code: null, signal: null, reason: `cannot start the source: ${errorMessage(error)}`, requested: false, stderrTail: [] });
    });
  }

  #onFrame(source: FrameSource, frame: SourceFrame): void {
    if (source !== this.#source || this.#closed) return;
    this.#sourceFrames += 1;
    this.#lastFrameAt = frame.capturedAt;
    this.#recent.push(frame.capturedAt);
    this.#pruneRecent(frame.capturedAt);
    if (this.#state !== 'live') {
      this.#liveSince = frame.capturedAt;
      this.#setState('live', this.#lastError);
    }
    this.safeEmit('frame', {
      camera: this.id,
      sessionStart: this.sessionStart,
      seq: this.#seq++,
      capturedAt: frame.capturedAt,
      width: frame.width,
      height: frame.height,
      jpeg: frame.jpeg,
    });
  }

  #onExit(source: FrameSource | undefined, exit: SourceExit): void {
    if (this.#closed || exit.requested) return;
    if (source !== undefined && source !== this.#source) return;
    this.#source = undefined;
    this.#logger.warn({ reason: exit.reason, code: exit.code, signal: exit.signal }, 'source exited');
    this.#setState('down', exit.reason);
    this.#scheduleRestart();
  }

  #checkWatchdog(): void {
    if (this.#closed || !this.#source) return;
    const now = Date.now();
    const waitingFirstFrame = this.#sourceFrames === 0;
    // A source that waits for a publisher has no first-frame deadline (nobody publishing is not a fault).
    if (waitingFirstFrame && this.#source.waitsForPublisher) return;
    const since = waitingFirstFrame ? this.#sourceStartedAt : (this.#lastFrameAt ?? this.#sourceStartedAt);
    const limit = waitingFirstFrame ? this.#startTimeoutMs : this.#stallAfterMs;
    if (now - since <= limit) return;
    const seconds = ((now - since) / 1000).toFixed(1);
    const reason = waitingFirstFrame ? `no frame within ${seconds} s of starting the source` : `no frame for ${seconds} s`;
    this.#logger.warn({ reason }, 'source stalled, restarting');
    const stale = this.#source;
    this.#source = undefined;
    this.#closingSource = stale.close().catch((error: unknown) => this.#logger.warn({ err: error }, 'closing a stalled source failed'));
    this.#setState(this.#state === 'down' ? 'down' : 'stalled', reason);
    this.#scheduleRestart();
  }

  #scheduleRestart(): void {
    if (this.#closed || this.#restartTimer) return;
    if (this.#liveSince !== null && this.#lastFrameAt !== null && this.#lastFrameAt - this.#liveSince >= this.#resetBackoffAfterMs) {
      this.#backoff.reset();
    }
    this.#liveSince = null;
    const delay = this.#backoff.next();
    this.#restartAt = Date.now() + delay;
    this.#logger.info({ delayMs: delay, restarts: this.#restarts }, 'restart scheduled');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      this.#restartAt = null;
      // Let the previous process go first: a camera may allow one session only.
      void this.#closingSource.then(() => {
        if (this.#closed) return;
        this.#restarts += 1;
        this.#spawn();
        this.safeEmit('health', this.health());
      });
    }, delay);
  }

  #setState(state: CameraState, lastError: string | null): void {
    const changed = state !== this.#state || lastError !== this.#lastError;
    this.#state = state;
    this.#lastError = lastError;
    if (changed || state === 'starting') {
      this.#logger.info({ state, lastError }, 'camera state');
      this.safeEmit('health', this.health());
    }
  }

  #pruneRecent(now: number): void {
    const from = now - this.#fpsWindowMs;
    while (this.#recent.length > 0 && this.#recent[0]! < from) this.#recent.shift();
  }

  #fps(now: number): number {
    this.#pruneRecent(now);
    const n = this.#recent.length;
    if (n < 2 || this.#lastFrameAt === null || now - this.#lastFrameAt > this.#stallAfterMs) return 0;
    const span = this.#recent[n - 1]! - this.#recent[0]!;
    return span > 0 ? Math.round(((n - 1) * 1000 * 100) / span) / 100 : 0;
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
