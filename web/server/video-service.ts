import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { cameraSchema, type VideoJob } from '@chronotrace/contracts';
import type { Logger, MediaFiles, Store } from '@chronotrace/platform';
import { FfprobeMissingError, probeVideo, uploadCamera, type FfmpegBinary, type VideoJobRunner, type VideoLimits } from '@chronotrace/media-server';
import type { CameraService } from './camera-service';

export interface VideoServiceOptions {
  runner: VideoJobRunner;
  cameras: CameraService;
  ffmpeg: () => Promise<FfmpegBinary>;
  /** Uploads are written to `<mediaRoot>/uploads/` while they are processed, then deleted. */
  mediaRoot: string;
  /** Where a removed upload's recording is deleted from (disk and archive). */
  media: MediaFiles;
  limits: VideoLimits;
  log: Logger;
  /** Tells every browser (Socket.io `videoJob`). */
  broadcast: (job: VideoJob) => void;
  /** Where jobs are kept across restarts and seen by every web replica. */
  store: Pick<Store, 'videoJobs'>;
  /** This process (the owner of the jobs it runs). */
  instance: string;
  /** A running job's heartbeat (its progress saved, a cancel asked elsewhere picked up). Default 5 000 ms. */
  heartbeatMs?: number;
  /** A job whose heartbeat is older than this was interrupted (its process died). Default 60 000 ms. */
  staleMs?: number;
  /** Makes this process's stages see a new camera at once (embedded mode). */
  refreshCatalog?: () => Promise<void>;
  /** An upload's frames are all in: its recorder finishes the last segment (embedded mode). */
  finishRecording?: (camera: string) => Promise<void>;
  /** A cancelled upload's recorder stops and ignores late frames (embedded mode). */
  discardRecording?: (camera: string) => Promise<void>;
  /** Jobs processed at once (others wait in line). Default 1: one upload already keeps 2 cores busy. */
  concurrency?: number;
}

export type UploadOutcome = { ok: true; job: VideoJob } | { ok: false; status: 400 | 413 | 415 | 422 | 503; error: string; details?: string[] };

/** Jobs remembered in memory and listed (the newest); older ones stay in the store. */
const MAX_JOBS = 200;
const INTERRUPTED = 'interrupted: the server stopped before the job finished; upload the file again';

/**
 * Uploaded videos: POST /api/videos streams the file part to disk (never whole in memory) with a size
 * cap, validates it with ffprobe, makes it a virtual camera and runs it through privacy → scene →
 * recording with progress pushed to every browser. A refused file leaves nothing; a cancelled or failed
 * job's camera and everything stored under it are removed; the raw file is always deleted.
 */
export class VideoService {
  private readonly jobs = new Map<string, VideoJob>();
  private readonly queue: (() => Promise<void>)[] = [];
  private active = 0;
  private closed = false;
  /** Second purges not yet run (run at once on close). */
  private readonly pendingPurges = new Set<() => Promise<void>>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly o: VideoServiceOptions) {}

  /**
   * Fails and cleans up the jobs whose process died mid-way (their heartbeat stopped): their camera,
   * tracks and recording are removed and the file deleted, as for a failed job. Then beats this
   * process's own jobs' heartbeat.
   */
  async start(): Promise<void> {
    const now = Date.now();
    const stale = await this.o.store.videoJobs.failStale(now - (this.o.staleMs ?? 60_000), INTERRUPTED, now);
    for (const job of stale) {
      this.o.log.warn({ job: job.id, camera: job.camera, file: job.fileName }, 'video job interrupted by a restart: cleaning up');
      const dir = join(this.o.mediaRoot, 'uploads');
      await Promise.all([rm(join(dir, `${job.id}.part`), { force: true }), rm(join(dir, `${job.id}.video`), { force: true })]);
      await this.cleanUp(job);
      this.o.broadcast(job);
    }
    this.heartbeat = setInterval(() => void this.beat(), this.o.heartbeatMs ?? 5_000);
    this.heartbeat.unref();
  }

  /** Saves each running job's progress; cancels those a cancel was asked for elsewhere. */
  private async beat(): Promise<void> {
    for (const job of this.jobs.values()) {
      if (job.state !== 'processing') continue;
      const r = await this.save(job);
      if (r?.cancelRequested) await this.cancel(job.id);
    }
  }

  private async save(job: VideoJob): Promise<{ cancelRequested: boolean } | null> {
    try {
      return await this.o.store.videoJobs.save({ ...job, progress: { ...job.progress } }, this.o.instance, Date.now());
    } catch (err) {
      this.o.log.warn({ err, job: job.id }, 'video job not saved');
      return null;
    }
  }

  /** Newest first: every replica's jobs from the store, this process's running ones as they are now. */
  async list(): Promise<VideoJob[]> {
    const stored = await this.o.store.videoJobs.list(MAX_JOBS);
    return stored.map((j) => this.jobs.get(j.id) ?? j);
  }

  async get(id: string): Promise<VideoJob | undefined> {
    return this.jobs.get(id) ?? (await this.o.store.videoJobs.get(id)) ?? undefined;
  }

  async upload(req: IncomingMessage): Promise<UploadOutcome> {
    if (this.closed) return { ok: false, status: 503, error: 'shutting down' };
    const type = req.headers['content-type'] ?? '';
    if (!/^multipart\/form-data/i.test(type)) return { ok: false, status: 415, error: 'send the video as multipart/form-data with a part named "file"' };
    const id = randomBytes(6).toString('hex');
    const dir = join(this.o.mediaRoot, 'uploads');
    await mkdir(dir, { recursive: true });
    const part = join(dir, `${id}.part`);
    const path = join(dir, `${id}.video`);
    const received = await this.receive(req, part);
    if (!received.ok) {
      await rm(part, { force: true });
      return received;
    }
    await rename(part, path);
    const ffmpeg = await this.o.ffmpeg();
    const probed = await probeVideo(path, ffmpeg, this.o.limits).catch((e: unknown) => {
      // ffprobe itself is missing: the server cannot check any file (503), not this file's fault (422).
      if (e instanceof FfprobeMissingError) this.o.log.error({ err: e }, 'uploads cannot be validated');
      return { ok: false as const, status: e instanceof FfprobeMissingError ? (503 as const) : (422 as const), reason: e instanceof Error ? e.message : String(e) };
    });
    if (!probed.ok) {
      await rm(path, { force: true });
      return { ok: false, status: probed.status, error: `video refused: ${probed.reason}` };
    }
    const p = probed.probe;
    const now = Date.now();
    const job: VideoJob = {
      id,
      camera: `upload-${id}`,
      fileName: received.fileName,
      bytes: received.bytes,
      container: p.container,
      codec: p.codec,
      width: p.width,
      height: p.height,
      durationS: Math.round(p.durationS * 1000) / 1000,
      // Its own creation time when it says, but all of it in the past (processed faster than real
      // time, a video starting now would have moments in the future, outside "the last hour").
      startAt: Math.min(p.createdAt ?? Infinity, now - Math.ceil(p.durationS * 1000)),
      state: 'processing',
      progress: { percent: 0, frames: 0, totalFrames: Math.max(1, Math.floor(p.durationS * this.o.runner.fps)), redacted: 0, etaS: null, speedX: null },
      error: null,
      createdAt: now,
      finishedAt: null,
    };
    const base = cameraSchema.parse({ id: job.camera, name: job.camera, source: 'webrtc' });
    const { id: _i, name: _n, source: _s, fps: _f, analysisFps: _a, width: _w, enabled: _e, ...defaults } = base;
    if (!(await this.o.cameras.addUploadCamera(uploadCamera(job, this.o.runner.fps, defaults)))) {
      await rm(path, { force: true });
      return { ok: false, status: 503, error: 'could not create the upload camera (id collision); try again' };
    }
    await this.o.refreshCatalog?.();
    this.jobs.set(id, job);
    this.trim();
    await this.save(job);
    this.o.log.info({ job: id, camera: job.camera, file: job.fileName, bytes: job.bytes, durationS: job.durationS, codec: job.codec }, 'video uploaded');
    this.enqueue(() => this.process(job, path, p));
    this.o.broadcast({ ...job });
    return { ok: true, job: { ...job, progress: { ...job.progress } } };
  }

  /** Cancels a job waiting or running: it ends 'cancelled' and leaves nothing stored. Another replica's job is asked to (at its next heartbeat). */
  async cancel(id: string): Promise<'cancelled' | 'ended' | 'unknown'> {
    const job = this.jobs.get(id);
    if (!job) {
      if (await this.o.store.videoJobs.requestCancel(id)) return 'cancelled';
      return (await this.o.store.videoJobs.get(id)) ? 'ended' : 'unknown';
    }
    if (job.state !== 'processing') return 'ended';
    job.state = 'cancelled';
    this.o.runner.cancel(id);
    return 'cancelled';
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue.push(task);
    this.pump();
  }

  private pump(): void {
    while (this.active < (this.o.concurrency ?? 1) && this.queue.length > 0) {
      const task = this.queue.shift()!;
      this.active++;
      void task().finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async process(job: VideoJob, path: string, probe: Parameters<VideoJobRunner['run']>[0]['probe']): Promise<void> {
    if (job.state === 'cancelled') {
      await rm(path, { force: true });
      await this.cleanUp(job);
      await this.save(job);
      return;
    }
    // The end is told here, once the recording's last segment is indexed (or the job is cleaned up), not by the runner.
    const final = await this.o.runner.run({ job, path, probe, onProgress: (j) => j.state === 'processing' && this.o.broadcast(j) });
    const state = final.state;
    job.state = 'processing';
    if (state === 'done') {
      await this.o.finishRecording?.(job.camera).catch((err: unknown) => this.o.log.warn({ err, job: job.id }, 'could not finish the upload recording'));
    } else await this.cleanUp(job);
    job.state = state;
    await this.save(job);
    this.o.broadcast({ ...job, progress: { ...job.progress } });
  }

  /**
   * Removes a cancelled or failed upload: once the frames it published have drained from the pipeline,
   * the camera goes (stages drop its state and ignore its late frames), then everything stored under it;
   * a second pass a few seconds later takes what other processes' batched writers stored meanwhile.
   */
  private async cleanUp(job: VideoJob): Promise<void> {
    const purge = async (): Promise<void> => {
      try {
        await this.o.cameras.purgeUploadCamera(job.camera, this.o.media);
      } catch (err) {
        this.o.log.error({ err, job: job.id, camera: job.camera }, 'could not remove a cancelled or failed upload');
      }
    };
    await this.o.runner.drained(job.camera);
    await this.o.discardRecording?.(job.camera).catch((err: unknown) => this.o.log.warn({ err, job: job.id, camera: job.camera }, 'could not stop the upload recording'));
    await purge();
    await this.o.refreshCatalog?.();
    const again = setTimeout(() => void purge(), 5_000);
    again.unref();
    this.pendingPurges.add(purge);
    setTimeout(() => this.pendingPurges.delete(purge), 5_500).unref();
  }

  /** Streams the one file part to `part`, counting bytes; refuses more than the limit. */
  private receive(req: IncomingMessage, part: string): Promise<{ ok: true; fileName: string; bytes: number } | { ok: false; status: 400 | 413; error: string }> {
    return new Promise((resolve) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({ headers: req.headers, limits: { files: 1, fileSize: this.o.limits.maxBytes, fields: 20, parts: 40 } });
      } catch (e) {
        resolve({ ok: false, status: 400, error: `malformed multipart body: ${e instanceof Error ? e.message : String(e)}` });
        return;
      }
      let file: Promise<{ fileName: string; bytes: number; truncated: boolean }> | null = null;
      let failed: string | null = null;
      bb.on('file', (name, stream, info) => {
        if (name !== 'file' || file) {
          stream.resume();
          return;
        }
        let bytes = 0;
        stream.on('data', (c: Buffer) => (bytes += c.length));
        // eslint-disable-next-line no-control-regex -- control characters are what is replaced
        const fileName = (info.filename || 'video').replace(/[\u0000-\u001f/\\]/g, '_').slice(0, 200);
        file = pipeline(stream, createWriteStream(part)).then(() => ({ fileName, bytes, truncated: (stream as unknown as { truncated?: boolean }).truncated === true }));
        file.catch((e: unknown) => (failed = e instanceof Error ? e.message : String(e)));
      });
      bb.on('error', (e: unknown) => {
        failed = e instanceof Error ? e.message : String(e);
        req.unpipe(bb);
        req.resume();
        resolve({ ok: false, status: 400, error: `malformed multipart body: ${failed}` });
      });
      bb.on('close', () => {
        if (!file) {
          resolve({ ok: false, status: 400, error: 'no file: send the video in a part named "file"' });
          return;
        }
        file.then(
          (f) => {
            if (f.truncated) resolve({ ok: false, status: 413, error: `the file is larger than the ${Math.round(this.o.limits.maxBytes / 1024 ** 2)} MB allowed` });
            else if (failed) resolve({ ok: false, status: 400, error: `upload failed: ${failed}` });
            else resolve({ ok: true, ...f });
          },
          (e: unknown) => resolve({ ok: false, status: 400, error: `upload failed: ${e instanceof Error ? e.message : String(e)}` }),
        );
      });
      req.on('aborted', () => resolve({ ok: false, status: 400, error: 'the upload was aborted' }));
      req.pipe(bb);
    });
  }

  private trim(): void {
    if (this.jobs.size <= MAX_JOBS) return;
    for (const j of [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt)) {
      if (this.jobs.size <= MAX_JOBS) break;
      if (j.state !== 'processing') this.jobs.delete(j.id);
    }
  }

  /** Cancels running jobs (their uploads are removed). */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const j of this.jobs.values()) if (j.state === 'processing') await this.cancel(j.id);
    while (this.active > 0) await new Promise((r) => setTimeout(r, 50));
    for (const p of this.pendingPurges) await p();
    this.pendingPurges.clear();
  }
}
