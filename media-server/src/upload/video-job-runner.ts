import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import type { CameraRecord, VideoJob } from '@chronotrace/contracts';
import type { Bus, Consumer, Logger } from '@chronotrace/platform';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { JpegFrameSplitter } from '../jpeg-frame-splitter';
import { readJpegDimensions } from '../jpeg-dimensions';
import type { VideoProbe } from './video-probe';

export interface VideoJobRunnerOptions {
  bus: Bus;
  ffmpeg: FfmpegBinary;
  log: Logger;
  /** Frames taken per second of video (each redacted, tracked and recorded). Default 5. */
  fps?: number;
  /** Frames published and not yet redacted at once: within the privacy stage's per-camera queue plus frames in flight (3 + 3), so none is skipped. Default 6. */
  window?: number;
  /** A frame whose redaction has not come back this long (held back, failed) is given up on. Default 20 000 ms. */
  frameTimeoutMs?: number;
}

export interface RunVideoJob {
  job: VideoJob;
  /** The raw upload, deleted when the job ends however it ends (raw video is never kept). */
  path: string;
  probe: VideoProbe;
  /** Called as the job progresses and when it ends (at most every 250 ms, and at the end). */
  onProgress: (job: VideoJob) => void;
}

/** The virtual camera an upload's history is stored under. */
export function uploadCamera(job: Pick<VideoJob, 'camera' | 'fileName' | 'width' | 'createdAt'>, fps: number, base: Omit<CameraRecord, 'id' | 'name' | 'origin' | 'createdAt' | 'fps' | 'analysisFps' | 'width' | 'source' | 'enabled'>): CameraRecord {
  return {
    ...base,
    id: job.camera,
    name: `Upload: ${job.fileName}`.slice(0, 120),
    source: 'webrtc', // never ingested (enabled: false); frames come from the job
    fps,
    analysisFps: 2,
    width: Math.min(640, job.width - (job.width % 2)) || 640,
    enabled: false,
    origin: 'upload',
    createdAt: job.createdAt,
  };
}

interface Running {
  child: ChildProcess;
  cancelled: boolean;
}

/**
 * Runs uploaded videos through the live pipeline as a virtual camera, faster than real time: ffmpeg
 * decodes the file to JPEG frames at `fps` (scaled like a camera), each published to frames.raw with
 * the capture time of its moment in the video (startAt + i / fps), so privacy, tracking, summaries
 * and the recorder see a camera whose clock runs fast. A small window of frames in flight (counted
 * back on frames.redacted) keeps the privacy stage from skipping any, and gives backpressure: ffmpeg's
 * output is paused while the window is full.
 */
export class VideoJobRunner {
  private consumer: Consumer | null = null;
  /** Per running camera: the highest frame index seen redacted, and who waits for it. */
  private readonly done = new Map<string, { last: number; wake: (() => void) | null }>();
  private readonly running = new Map<string, Running>();
  /** When a redacted frame of an upload camera last came back (ms epoch). */
  private readonly lastSeen = new Map<string, number>();

  constructor(private readonly o: VideoJobRunnerOptions) {}

  async start(instance: string): Promise<void> {
    this.consumer = await this.o.bus.consume('frames.redacted', { durable: `videojobs-${instance}`, batch: 64, deliverFrom: 'new', expireAfterIdleMs: 5 * 60_000 }, async (msgs) => {
      for (const m of msgs) {
        if (m.camera.startsWith('upload-')) {
          this.lastSeen.set(m.camera, Date.now());
          if (this.lastSeen.size > 1000) this.lastSeen.delete(this.lastSeen.keys().next().value!);
        }
        const d = this.done.get(m.camera);
        if (d) {
          const i = m.envelope.meta.seq;
          if (i > d.last) d.last = i;
          d.wake?.();
        }
        m.ack();
      }
    });
  }

  get fps(): number {
    return this.o.fps ?? 5;
  }

  /** Processes one job to its end; resolves with the job's final state (never rejects). */
  async run(r: RunVideoJob): Promise<VideoJob> {
    const { job, probe } = r;
    const fps = this.fps;
    const window = this.o.window ?? 6;
    const timeoutMs = this.o.frameTimeoutMs ?? 20_000;
    const width = Math.min(640, probe.width - (probe.width % 2)) || 640;
    job.progress.totalFrames = Math.max(1, Math.floor(probe.durationS * fps));
    const started = Date.now();
    const state = { last: -1, wake: null as (() => void) | null };
    this.done.set(job.camera, state);
    let lastEmit = 0;
    const emit = (force = false): void => {
      const now = Date.now();
      if (!force && now - lastEmit < 250) return;
      lastEmit = now;
      const p = job.progress;
      p.redacted = state.last + 1;
      p.percent = Math.min(100, Math.round((p.redacted / p.totalFrames) * 1000) / 10);
      const wallS = (now - started) / 1000;
      p.speedX = wallS > 0.5 ? Math.round((p.redacted / fps / wallS) * 10) / 10 : null;
      p.etaS = p.speedX ? Math.round(((p.totalFrames - p.redacted) / fps / p.speedX) * 10) / 10 : null;
      r.onProgress({ ...job, progress: { ...p } });
    };
    const child = spawn(
      this.o.ffmpeg.path,
      ['-hide_banner', '-loglevel', 'error', '-nostats', '-i', r.path, '-map', '0:v:0', '-an', '-vf', `fps=${fps},scale=${width}:-2:flags=bicubic`, '-f', 'image2pipe', '-c:v', 'mjpeg', '-q:v', '3', 'pipe:1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const running: Running = { child, cancelled: false };
    this.running.set(job.id, running);
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    const splitter = new JpegFrameSplitter();
    let published = 0;
    let failure: string | null = null;

    const waitForWindow = async (): Promise<void> => {
      const deadline = Date.now() + timeoutMs;
      while (published - (state.last + 1) >= window && !running.cancelled) {
        const left = deadline - Date.now();
        if (left <= 0) {
          // A frame held back or failed: count it done and go on (the next redacted frame moves `last` anyway).
          state.last = Math.max(state.last, published - window);
          break;
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 1_000));
          state.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        state.wake = null;
      }
    };

    try {
      const stdout = child.stdout!;
      for await (const chunk of stdout as AsyncIterable<Buffer>) {
        if (running.cancelled) break;
        for (const jpeg of splitter.push(chunk)) {
          await waitForWindow();
          if (running.cancelled) break;
          const seq = published;
          const capturedAt = Math.round(job.startAt + (seq * 1000) / fps);
          const frameId = `${job.camera}:${job.startAt}:${seq}`;
          const dims = readJpegDimensions(jpeg) ?? { width: 0, height: 0 };
          const res = await this.o.bus.publish('frames.raw', job.camera, { meta: { camera: job.camera, frameId, seq, capturedAt, width: dims.width, height: dims.height }, body: jpeg }, { msgId: frameId });
          if (!res.ok) {
            failure = `could not publish frame ${seq}: ${res.reason}`;
            break;
          }
          published++;
          job.progress.frames = published;
          emit();
        }
        if (failure || running.cancelled) break;
      }
      if (running.cancelled || failure) child.kill('SIGKILL');
      const code = await exited;
      if (!running.cancelled && !failure && code !== 0) failure = `ffmpeg could not decode the video (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`.slice(0, 300);
      // The tail: wait for the last frames' redaction (or give up on them after the timeout).
      if (!running.cancelled && !failure) {
        const deadline = Date.now() + timeoutMs;
        while (state.last + 1 < published && Date.now() < deadline && !running.cancelled) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, 500);
            state.wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          state.wake = null;
        }
      }
    } catch (err) {
      failure = `processing failed: ${err instanceof Error ? err.message : String(err)}`;
      child.kill('SIGKILL');
    } finally {
      this.running.delete(job.id);
      this.done.delete(job.camera);
      await rm(r.path, { force: true }).catch(() => undefined);
    }
    job.state = running.cancelled ? 'cancelled' : failure ? 'failed' : 'done';
    job.error = failure;
    job.finishedAt = Date.now();
    if (job.state === 'done') job.progress.totalFrames = Math.max(published, 1);
    emit(true);
    this.o.log.info({ job: job.id, camera: job.camera, state: job.state, frames: published, redacted: job.progress.redacted, s: (Date.now() - started) / 1000, error: failure }, 'video job ended');
    return job;
  }

  /**
   * Resolves once a camera's frames stopped coming back redacted for `quietMs` (the pipeline has
   * drained what a cancelled job published), or after `maxMs`.
   */
  async drained(camera: string, quietMs = 1_500, maxMs = 15_000): Promise<void> {
    const end = Date.now() + maxMs;
    let last = this.lastSeen.get(camera) ?? 0;
    while (Date.now() < end) {
      await new Promise((r) => setTimeout(r, Math.max(100, quietMs / 3)));
      const seen = this.lastSeen.get(camera) ?? 0;
      if (seen === last && Date.now() - seen >= quietMs) return;
      last = seen;
    }
  }

  /** Stops a running job (its run() resolves 'cancelled'). False when it is not running. */
  cancel(id: string): boolean {
    const r = this.running.get(id);
    if (!r) return false;
    r.cancelled = true;
    r.child.kill('SIGKILL');
    return true;
  }

  async close(): Promise<void> {
    for (const id of [...this.running.keys()]) this.cancel(id);
    await this.consumer?.close();
    this.consumer = null;
  }
}
