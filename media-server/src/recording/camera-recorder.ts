import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingSegment } from '@chronotrace/contracts';
import { Backoff, type Logger } from '@chronotrace/platform';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { readJpegDimensions } from '../jpeg-dimensions';
import { mpjpegPart, procCpuSeconds } from '../video/h264-rtp-encoder';
import { readInit, readSegment, type Fmp4Init } from './fmp4';
import { playlistSegments } from './hls-playlist';

/** Segment length ffmpeg aims for (it cuts at the next keyframe after it). */
export const SEGMENT_SECONDS = 2;
/** Frames waiting in ffmpeg's stdin beyond this many bytes are dropped (ffmpeg is behind). */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;
/** Frames remembered to map media time back to capture time (a minute at 30 fps). */
const FRAME_LOG = 1_800;
/** An upload's frames kept while its recorder's ffmpeg starts (at 5 fps, a minute). */
const MAX_WAITING_FRAMES = 300;

/** What a run directory's run.json holds: enough to index its segments after a crash. */
export interface RunInfo {
  camera: string;
  run: string;
  /** Capture time and arrival at ffmpeg of the run's first frame (media time 0). */
  firstCapturedAt: number;
  firstWrittenAt: number;
  width: number;
  height: number;
}

export interface CameraRecorderOptions {
  camera: string;
  ffmpeg: FfmpegBinary;
  /** The media root; runs go to `<root>/recordings/<camera>/<run>/`. */
  root: string;
  fps: number;
  log: Logger;
  /** A finished segment, its file complete: index it. A rejection is logged and the segment stays on disk for the next reconcile. */
  onSegment: (segment: RecordingSegment) => Promise<void>;
  /** libx264 constant rate factor. Default 28. */
  crf?: number;
  /**
   * 'arrival' (live cameras): frames are timed as they arrive. 'frames' (uploaded videos, fed faster
   * than real time at exactly `fps`): frame i is at i / fps, so the recording keeps the video's pace.
   */
  timing?: 'arrival' | 'frames';
}

export interface CameraRecorderStats {
  framesIn: number;
  framesDropped: number;
  segments: number;
  runs: number;
  restarts: number;
  cpuSeconds: number;
  lastError: string | null;
}

/** `recordings/<camera>/<run>` under the media root. */
export function runDir(root: string, camera: string, run: string): string {
  return join(root, 'recordings', camera, run);
}

/** The path stored in the index (relative to the media root). */
export function relativeRunPath(camera: string, run: string, file: string): string {
  return `recordings/${camera}/${run}/${file}`;
}

/**
 * One camera's recorder: redacted JPEG frames in, an HLS fMP4 recording out. An ffmpeg process per
 * run encodes H.264 (libx264 ultrafast, a keyframe every segment) and writes 2 s segments with a
 * playlist it rewrites after each finished segment; the recorder reads that playlist, inspects each
 * new segment (decode time, frames, keyframes) and hands it to onSegment with its capture times.
 * A frame size change or an ffmpeg crash starts a new run (its own directory and init segment).
 */
export class CameraRecorder {
  private child: ChildProcess | null = null;
  private run: RunInfo | null = null;
  private dir = '';
  private init: Fmp4Init | null = null;
  private indexed = 0;
  /** Decode time (ticks) of the run's first segment: media time 0, the first frame's arrival. */
  private origin: number | null = null;
  private closed = false;
  private size: { width: number; height: number } | null = null;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private restartTimer: NodeJS.Timeout | null = null;
  private poller: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  /** Frames written in this run: arrival at ffmpeg → capture time. */
  private frames: { writtenAt: number; capturedAt: number }[] = [];
  private lastWrittenAt = 0;
  private starting: Promise<void> | null = null;
  private waiting: { jpeg: Uint8Array; capturedAt: number }[] = [];
  private lastStderr: string[] = [];
  private cpuOfExited = 0;
  private lastCpu = 0;
  private readonly counters = { framesIn: 0, framesDropped: 0, segments: 0, runs: 0, restarts: 0 };
  private lastError: string | null = null;
  private stopped = false;
  private lastPushAt = 0;

  constructor(private readonly o: CameraRecorderOptions) {}

  get camera(): string {
    return this.o.camera;
  }

  /**
   * Records one redacted frame (JPEG) captured at `capturedAt`. A live camera's frame is dropped while
   * ffmpeg starts or is behind; an upload's ('frames' timing: nothing is late) waits for it instead.
   */
  push(jpeg: Uint8Array, capturedAt: number): void {
    if (this.closed) return;
    this.counters.framesIn++;
    this.lastPushAt = Date.now();
    if (this.stopped) {
      this.counters.framesDropped++;
      return;
    }
    const dims = readJpegDimensions(jpeg);
    if (!dims) {
      this.counters.framesDropped++;
      return;
    }
    if (!this.size || this.size.width !== dims.width || this.size.height !== dims.height) {
      if (this.size) this.o.log.info({ camera: this.o.camera, from: this.size, to: dims }, 'frame size changed: new recording run');
      this.size = { width: dims.width, height: dims.height };
      this.restart();
    }
    if (this.starting || !this.child) {
      if (this.o.timing === 'frames' && this.waiting.length < MAX_WAITING_FRAMES) this.waiting.push({ jpeg, capturedAt });
      else this.counters.framesDropped++;
      return;
    }
    this.write(jpeg, capturedAt);
  }

  /** Frames that waited for ffmpeg to start, written once it runs. */
  private flushWaiting(): void {
    const frames = this.waiting;
    this.waiting = [];
    if (!this.child) {
      this.counters.framesDropped += frames.length;
      return;
    }
    for (const f of frames) this.write(f.jpeg, f.capturedAt);
  }

  /** Stops recording (disk full): ffmpeg finishes its segment and exits; push() drops frames until resume(). */
  async pause(reason: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.lastError = reason;
    await this.stopChild();
  }

  resume(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.lastError = null;
    this.size = null; // the next frame starts a run
  }

  get paused(): boolean {
    return this.stopped;
  }

  private write(jpeg: Uint8Array, capturedAt: number): void {
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable || stdin.writableLength > MAX_PENDING_BYTES) {
      this.counters.framesDropped++;
      return;
    }
    // ffmpeg stamps frames by arrival (wall clock): keep stamps strictly increasing.
    const writtenAt = Math.max(Date.now(), this.lastWrittenAt + 1);
    this.lastWrittenAt = writtenAt;
    if (this.run && this.run.firstWrittenAt === 0) {
      this.run.firstWrittenAt = writtenAt;
      this.run.firstCapturedAt = capturedAt;
      void this.writeRunInfo(this.run, this.dir);
    }
    this.frames.push({ writtenAt, capturedAt });
    if (this.frames.length > FRAME_LOG) this.frames.splice(0, this.frames.length - FRAME_LOG);
    if (this.o.timing === 'frames') {
      stdin.write(jpeg); // image2pipe: JPEGs back to back, timed by -framerate
      return;
    }
    stdin.write(mpjpegPart(jpeg));
  }

  private async writeRunInfo(run: RunInfo, dir: string): Promise<void> {
    try {
      const tmp = join(dir, 'run.json.tmp');
      await writeFile(tmp, JSON.stringify(run));
      await rename(tmp, join(dir, 'run.json'));
    } catch (err) {
      this.o.log.warn({ err, camera: this.o.camera, run: run.run }, 'cannot write run.json');
    }
  }

  private restart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const starting = this.stopChild()
      .then(() => this.startChild())
      .then(() => this.flushWaiting());
    this.starting = starting;
    void starting
      .catch((err: unknown) => {
        this.lastError = `cannot start the recorder: ${err instanceof Error ? err.message : String(err)}`;
        this.o.log.error({ err, camera: this.o.camera }, 'cannot start the recorder');
        this.scheduleRestart();
      })
      .finally(() => {
        if (this.starting === starting) this.starting = null;
      });
  }

  private scheduleRestart(): void {
    if (this.closed || this.stopped) return;
    const delay = this.backoff.next();
    this.restartTimer = setTimeout(() => this.restart(), delay);
  }

  private async startChild(): Promise<void> {
    if (this.closed || this.stopped || !this.size) return;
    const { width, height } = this.size;
    // Run ids sort by time; the counter keeps two runs in one millisecond apart.
    const run = `${Date.now().toString(36).padStart(9, '0')}${(this.counters.runs % 36).toString(36)}`;
    const dir = runDir(this.o.root, this.o.camera, run);
    await mkdir(dir, { recursive: true });
    this.run = { camera: this.o.camera, run, firstCapturedAt: 0, firstWrittenAt: 0, width, height };
    this.dir = dir;
    this.init = null;
    this.origin = null;
    this.indexed = 0;
    this.frames = [];
    this.counters.runs++;
    const gop = Math.max(1, Math.round(this.o.fps * SEGMENT_SECONDS));
    const vf = `scale=${width + (width % 2)}:${height + (height % 2)}:flags=fast_bilinear,format=yuv420p`;
    const input = this.o.timing === 'frames'
      ? ['-f', 'image2pipe', '-framerate', String(this.o.fps), '-c:v', 'mjpeg', '-i', 'pipe:0']
      : ['-f', 'mpjpeg', '-use_wallclock_as_timestamps', '1', '-i', 'pipe:0'];
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostats',
      ...input,
      '-an', '-vf', vf,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-profile:v', 'baseline', '-threads', '1',
      '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0',
      '-crf', String(this.o.crf ?? 28), '-maxrate', '1500k', '-bufsize', '3000k',
      '-vsync', 'passthrough',
      '-f', 'hls', '-hls_time', String(SEGMENT_SECONDS), '-hls_list_size', '0', '-hls_segment_type', 'fmp4',
      '-hls_flags', 'temp_file+independent_segments', '-hls_fmp4_init_filename', 'init.mp4',
      '-hls_segment_filename', join(dir, 'seg-%06d.m4s'),
      join(dir, 'index.m3u8'),
    ];
    const child = spawn(this.o.ffmpeg.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child = child;
    const started = Date.now();
    this.lastStderr = [];
    child.stdin?.on('error', () => undefined); // EPIPE when ffmpeg dies: the exit handler restarts it
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split(/\r?\n/)) if (line.trim() && !/deprecated/.test(line)) this.lastStderr = [...this.lastStderr.slice(-9), line.trim()];
    });
    child.once('error', (err) => {
      this.lastError = `cannot run ffmpeg: ${err.message}`;
      this.o.log.error({ err, camera: this.o.camera }, 'cannot run ffmpeg for the recorder');
    });
    child.once('exit', (code, signal) => {
      this.cpuOfExited += this.lastCpu;
      this.lastCpu = 0;
      // The last segments: ffmpeg wrote them and the final playlist before exiting.
      void this.poll();
      if (this.child !== child) return; // replaced or stopped on purpose
      this.child = null;
      if (this.closed || this.stopped) return;
      if (Date.now() - started > 30_000) this.backoff.reset();
      this.counters.restarts++;
      this.lastError = `recorder exited (${signal ?? code}): ${this.lastStderr.slice(-2).join(' | ') || 'no message'}`;
      this.o.log.warn({ camera: this.o.camera, code, signal, stderr: this.lastStderr }, 'recorder exited; starting a new run');
      this.scheduleRestart();
    });
    this.poller ??= setInterval(() => void this.poll(), 500);
    this.o.log.info({ camera: this.o.camera, run, width, height, pid: child.pid }, 'recording');
  }

  /** Indexes the segments ffmpeg has finished since the last poll. */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private async pollOnce(): Promise<void> {
    const run = this.run;
    const dir = this.dir;
    if (!run || run.firstWrittenAt === 0) return;
    const pid = this.child?.pid;
    if (pid !== undefined) this.lastCpu = procCpuSeconds(pid) ?? this.lastCpu;
    let listed: string[];
    try {
      listed = playlistSegments(await readFile(join(dir, 'index.m3u8'), 'utf8'));
    } catch {
      return; // no segment finished yet
    }
    while (this.indexed < listed.length && this.run === run) {
      const file = listed[this.indexed]!;
      try {
        this.init ??= readInit(await readFile(join(dir, 'init.mp4')));
        this.origin ??= this.indexed === 0 ? null : 0;
        const segment = await inspectSegment(dir, file, this.indexed, run, this.init, this.origin, (t) => this.captureTimeAt(run, t));
        if (this.indexed === 0) this.origin = segment.originTicks;
        await this.o.onSegment(segment);
        this.counters.segments++;
      } catch (err) {
        this.o.log.warn({ err, camera: this.o.camera, run: run.run, file }, 'segment not indexed (the next reconcile retries it)');
      }
      this.indexed++;
    }
  }

  /**
   * Capture time of the frame ffmpeg stamped `mediaMs` into the run. ffmpeg stamps a frame when it reads
   * it, a few ms (more under load) after we wrote it, so the stamp is snapped to the nearest frame we
   * wrote; past the last frame (a segment's end) it is extrapolated from that frame.
   */
  private captureTimeAt(run: RunInfo, mediaMs: number): number {
    // At a constant rate the media time is the video's own: from its first frame.
    if (this.o.timing === 'frames') return run.firstCapturedAt + mediaMs;
    const arrival = run.firstWrittenAt + mediaMs;
    const frames = this.frames;
    if (frames.length === 0 || arrival < frames[0]!.writtenAt - 1_000) return run.firstCapturedAt + mediaMs; // outside the log
    const last = frames[frames.length - 1]!;
    const half = 500 / Math.max(0.1, this.o.fps);
    if (arrival > last.writtenAt + half) return last.capturedAt + (arrival - last.writtenAt);
    let lo = 0;
    let hi = frames.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (frames[mid]!.writtenAt < arrival) lo = mid + 1;
      else hi = mid;
    }
    // frames[lo] is the first written at or after `arrival`; the one before may be nearer.
    const after = frames[lo]!;
    const before = lo > 0 ? frames[lo - 1]! : after;
    return (arrival - before.writtenAt <= after.writtenAt - arrival ? before : after).capturedAt;
  }

  stats(): CameraRecorderStats {
    const pid = this.child?.pid;
    if (pid !== undefined) this.lastCpu = procCpuSeconds(pid) ?? this.lastCpu;
    return { ...this.counters, cpuSeconds: this.cpuOfExited + this.lastCpu, lastError: this.lastError };
  }

  /** When the last frame was pushed (ms epoch), 0 before the first. */
  get lastFrameAt(): number {
    return this.lastPushAt;
  }

  get error(): string | null {
    return this.lastError;
  }

  get currentRun(): string | null {
    return this.child ? (this.run?.run ?? null) : null;
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      await this.poll();
      return;
    }
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // End of input: ffmpeg finishes the open segment and the playlist, then exits.
    child.stdin?.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
    await this.poll();
  }

  /** Finishes the open segment, indexes it, stops. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.starting?.catch(() => undefined);
    await this.stopChild();
    if (this.poller) clearInterval(this.poller);
    await this.polling;
  }
}


/**
 * A finished segment as an index row: its media time (from the fMP4 boxes) mapped to capture time.
 * Throws when the file is missing, truncated or not fMP4.
 */
export async function inspectSegment(
  dir: string,
  file: string,
  seq: number,
  run: RunInfo,
  init: Fmp4Init,
  /** Decode time of the run's first segment (null: this is it). */
  originTicks: number | null,
  captureTimeAt: (mediaMs: number) => number,
): Promise<RecordingSegment & { originTicks: number }> {
  const path = join(dir, file);
  const bytes = (await stat(path)).size;
  const seg = readSegment(await readFile(path), init);
  const origin = originTicks ?? seg.baseTime;
  const startMs = ((seg.baseTime - origin) / init.timescale) * 1000;
  const endMs = ((seg.baseTime + seg.duration - origin) / init.timescale) * 1000;
  const startAt = Math.round(captureTimeAt(startMs));
  const endAt = Math.max(startAt + 1, Math.round(captureTimeAt(endMs)));
  return {
    id: `${run.run}-${seq}`,
    camera: run.camera,
    run: run.run,
    seq,
    path: relativeRunPath(run.camera, run.run, file),
    initPath: relativeRunPath(run.camera, run.run, 'init.mp4'),
    startAt,
    endAt,
    bytes,
    frames: seg.frames,
    keyframes: seg.keyframes,
    width: run.width,
    height: run.height,
    originTicks: origin,
  };
}
