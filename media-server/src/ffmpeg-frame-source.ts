import { spawn, type ChildProcess } from 'node:child_process';
import { createLogger, type Logger } from '@chronotrace/platform';
import { EnhancedEventEmitter } from './enhanced-events';
import { resolveFfmpeg, type FfmpegBinary } from './ffmpeg-binary';
import type { FrameSource, FrameSourceEvents, FrameSourceKind, FrameSourceStats, SourceExit } from './frame-source';
import { readJpegDimensions } from './jpeg-dimensions';
import { JpegFrameSplitter } from './jpeg-frame-splitter';

export interface FfmpegFrameSourceOptions {
  /** Camera id, for logs. */
  camera: string;
  /** Frames per second to sample (`-vf fps=N`). */
  fps: number;
  /** Output width in pixels; the height keeps the aspect ratio and is even (`scale=W:-2`). */
  width: number;
  /** MJPEG quality, 2 (best) … 31 (worst) (`-q:v`). Default 5. */
  quality?: number;
  /** Frames larger than this are dropped. Default 4 MiB. */
  maxFrameBytes?: number;
  /** The ffmpeg to run. Default: resolveFfmpeg(). */
  ffmpeg?: FfmpegBinary;
  /** How many of ffmpeg's last stderr lines to keep for error reasons. Default 20. */
  stderrLines?: number;
  /** After close() sends SIGTERM, SIGKILL follows after this long. Default 2000 ms. */
  killTimeoutMs?: number;
  /** Default: createLogger('media-server.source', { camera }). */
  logger?: Logger;
}

export const DEFAULT_JPEG_QUALITY = 5;
export const DEFAULT_STDERR_LINES = 20;
export const DEFAULT_KILL_TIMEOUT_MS = 2000;

/** `rtsp://user:secret@host` → `rtsp://user:***@host`, so reasons and logs never carry passwords. */
export function redactCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@\s]*@/gi, '$1***@');
}

/** Lines ffmpeg prints that say nothing about why a stream failed. */
const NOISE = /deprecated pixel format|Fontconfig/i;

/**
 * Base of the sources that run one ffmpeg process printing MJPEG to stdout: subclasses give the input
 * arguments. Owns the process: close() is idempotent, sends SIGTERM then SIGKILL, and resolves once
 * the process has exited (and been reaped).
 */
export abstract class FfmpegFrameSource extends EnhancedEventEmitter<FrameSourceEvents> implements FrameSource {
  abstract readonly kind: FrameSourceKind;
  protected readonly options: Required<Omit<FfmpegFrameSourceOptions, 'ffmpeg' | 'logger'>> & { ffmpeg: FfmpegBinary | undefined };
  protected readonly logger: Logger;
  readonly #splitter: JpegFrameSplitter;
  #child: ChildProcess | undefined;
  #stderrTail: string[] = [];
  #stderrPartial = '';
  #started = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #exited: Promise<void> | undefined;
  #seq = 0;
  #badFrames = 0;

  constructor(options: FfmpegFrameSourceOptions) {
    const logger = options.logger ?? createLogger('media-server.source', { camera: options.camera });
    super(logger);
    this.logger = logger;
    if (!(options.fps > 0)) throw new RangeError(`fps must be > 0, got ${options.fps}`);
    if (!Number.isInteger(options.width) || options.width < 2) throw new RangeError(`width must be an integer ≥ 2, got ${options.width}`);
    this.options = {
      camera: options.camera,
      fps: options.fps,
      width: options.width,
      quality: options.quality ?? DEFAULT_JPEG_QUALITY,
      maxFrameBytes: options.maxFrameBytes ?? 4 * 1024 * 1024,
      ffmpeg: options.ffmpeg,
      stderrLines: options.stderrLines ?? DEFAULT_STDERR_LINES,
      killTimeoutMs: options.killTimeoutMs ?? DEFAULT_KILL_TIMEOUT_MS,
    };
    this.#splitter = new JpegFrameSplitter({ maxFrameBytes: this.options.maxFrameBytes });
  }

  /** ffmpeg arguments up to and including `-i <input>`. */
  protected abstract inputArgs(ffmpeg: FfmpegBinary): string[];

  /** Filters applied before sampling and scaling (e.g. an overlay). Default none. */
  protected preFilters(): string[] {
    return [];
  }

  /** What to log instead of the input (e.g. a URL without its password). */
  protected abstract describeInput(): string;

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  /** ffmpeg's last stderr lines, oldest first. */
  stderrTail(): string[] {
    return [...this.#stderrTail];
  }

  /** The full ffmpeg command line (for logs and tests). */
  args(ffmpeg: FfmpegBinary): string[] {
    const { fps, width, quality } = this.options;
    const filters = [...this.preFilters(), `fps=${fps}`, `scale=${width}:-2`];
    return [
      '-hide_banner', '-nostdin', '-nostats', '-loglevel', 'error',
      ...this.inputArgs(ffmpeg),
      '-an', '-sn', '-dn',
      '-vf', filters.join(','),
      '-c:v', 'mjpeg', '-q:v', String(quality),
      '-f', 'image2pipe', 'pipe:1',
    ];
  }

  async start(): Promise<void> {
    if (this.#started) throw new Error('FfmpegFrameSource.start() called twice');
    this.#started = true;
    let ffmpeg: FfmpegBinary;
    try {
      ffmpeg = this.options.ffmpeg ?? (await resolveFfmpeg());
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      this.#exited = Promise.resolve();
      this.safeEmit('exit', { code: null, signal: null, reason, requested: this.#closed, stderrTail: [] });
      return;
    }
    if (this.#closed) return;

    const args = this.args(ffmpeg);
    this.logger.debug({ ffmpeg: ffmpeg.path, input: this.describeInput() }, 'starting ffmpeg');
    const child = spawn(ffmpeg.path, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    let spawnError: Error | undefined;
    this.#exited = new Promise<void>((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        resolve();
        this.safeEmit('exit', this.#describeExit(code, signal, spawnError));
      };
      child.once('error', (error) => {
        spawnError = error;
        // A process that never spawned emits no 'close'.
        if (child.pid === undefined) finish(null, null);
      });
      child.once('close', (code, signal) => finish(code, signal));
    });

    child.stdout?.on('data', (chunk: Buffer) => this.#onStdout(chunk));
    child.stdout?.on('error', (error) => this.logger.debug({ err: error }, 'ffmpeg stdout error'));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => this.#onStderr(text));
    child.stderr?.on('error', (error) => this.logger.debug({ err: error }, 'ffmpeg stderr error'));
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (!child || !this.#exited) return;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) {
          this.logger.warn({ pid: child.pid }, 'ffmpeg ignored SIGTERM, sending SIGKILL');
          child.kill('SIGKILL');
        }
      }, this.options.killTimeoutMs);
      try {
        await this.#exited;
      } finally {
        clearTimeout(killer);
      }
    } else {
      await this.#exited;
    }
  }

  toJSON(): FrameSourceStats {
    const s = this.#splitter.toJSON();
    return {
      kind: this.kind,
      pid: this.pid ?? null,
      frames: this.#seq,
      badFrames: this.#badFrames,
      bytesIn: s.bytesIn,
      discardedBytes: s.discardedBytes,
      oversized: s.oversized,
      running: this.pid !== undefined,
    };
  }

  #onStdout(chunk: Buffer): void {
    for (const jpeg of this.#splitter.push(chunk)) {
      const capturedAt = Date.now();
      const size = readJpegDimensions(jpeg);
      if (!size) {
        this.#badFrames += 1;
        continue;
      }
      this.safeEmit('frame', { jpeg, width: size.width, height: size.height, capturedAt, seq: this.#seq++ });
    }
  }

  #onStderr(text: string): void {
    const lines = (this.#stderrPartial + text).split(/\r?\n|\r/);
    this.#stderrPartial = lines.pop() ?? '';
    for (const raw of lines) {
      const line = redactCredentials(raw.trim());
      if (!line || NOISE.test(line)) continue;
      this.#stderrTail.push(line);
      if (this.#stderrTail.length > this.options.stderrLines) this.#stderrTail.shift();
    }
  }

  #describeExit(code: number | null, signal: NodeJS.Signals | null, spawnError: Error | undefined): SourceExit {
    if (this.#stderrPartial.trim()) this.#onStderr('\n');
    const stderrTail = this.stderrTail();
    const requested = this.#closed;
    let reason: string;
    if (spawnError) reason = `cannot run ffmpeg: ${spawnError.message}`;
    else if (requested) reason = 'closed';
    else if (stderrTail.length > 0) reason = stderrTail[stderrTail.length - 1]!;
    else if (signal) reason = `ffmpeg was killed by ${signal}`;
    else if (code === 0) reason = 'the stream ended';
    else reason = `ffmpeg exited with code ${code}`;
    return { code, signal, reason, requested, stderrTail };
  }
}
