import { mkdir, readdir, readFile, rm, statfs, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { CameraRecord, RecordingHealth, RecordingSegment } from '@chronotrace/contracts';
import type { Bus, Consumer, Logger, ObjectStore, RecordingRepository } from '@chronotrace/platform';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { CameraRecorder, inspectSegment, runDir, type RunInfo } from './camera-recorder';
import { readInit } from './fmp4';
import { playlistSegments } from './hls-playlist';

export interface RecordingServiceOptions {
  recordings: RecordingRepository;
  /** Today's cameras with their recording settings. */
  cameras: () => readonly CameraRecord[];
  ffmpeg: () => Promise<FfmpegBinary>;
  /** The media root: recordings go to `<root>/recordings/`. */
  root: string;
  log: Logger;
  /** Recording stops (health error) when the media root's file system has less free space than this. Default 1 GiB. */
  minFreeBytes?: number;
  /** How often retention runs. Default 60 000 ms. */
  pruneEveryMs?: number;
  /** How often free space is checked. Default 5 000 ms. */
  diskCheckEveryMs?: number;
  /** Free bytes of the media root's file system (tests inject a full disk). Default: statfs. */
  freeBytes?: (root: string) => Promise<number>;
  /** Default Date.now. */
  now?: () => number;
  /** A recorder that got no frame this long finishes its segment and stops (a camera gone quiet, an upload done). Default 15 000 ms. */
  idleCloseMs?: number;
  /**
   * MEDIA_STORE=s3: each indexed segment (with its run's init segment) is copied here under its key,
   * marked archived in the index, and its local copy deleted; the media root is then only a spool.
   */
  archive?: ObjectStore;
  /** How often segments that could not be archived are tried again. Default 10 000 ms. */
  archiveEveryMs?: number;
  /**
   * Re-reads the camera list now (another process's catalog): frames of a camera not in the list yet
   * (an upload created a moment ago elsewhere) are held while it runs, then recorded if it appeared.
   */
  refreshCameras?: () => Promise<void>;
}

/** Frames held per camera while the camera list is re-read, and cameras held at once. */
const HELD_FRAMES = 300;
const HELD_CAMERAS = 16;
/** A camera still unknown after a re-read is not asked about again for this long (its frames are dropped). */
const UNKNOWN_FOR_MS = 5_000;

export interface RecordingServiceStats {
  cameras: Record<string, ReturnType<CameraRecorder['stats']> & { paused: boolean }>;
  diskFull: boolean;
  freeBytes: number | null;
  pruned: { segments: number; bytes: number };
  reconciled: { adopted: number; removedFiles: number; removedRows: number };
  archived: { segments: number; bytes: number; failures: number } | null;
}

const SEGMENT_FILE = /^seg-(\d{6})\.m4s$/;

/**
 * Records the redacted video of every camera whose recording is on: consumes frames.redacted (its own
 * durable; nothing raw ever arrives here), one CameraRecorder per camera, and keeps the segment index
 * in the Store. Order keeps the index true to the disk: a row is written only after its file is
 * complete, and deleted before its file is; at start-up a reconcile adopts the finished segments a
 * crash left unindexed and removes partial files and rows whose file is gone. Retention prunes the
 * oldest segments past a camera's days or GB, never one a hold (export, incident) covers. Below the
 * free-space floor recording pauses with a health error and resumes when space is back.
 */
export class RecordingService {
  private readonly recorders = new Map<string, CameraRecorder>();
  private readonly discarded = new Map<string, number>();
  private consumer: Consumer | null = null;
  private ffmpeg: FfmpegBinary | null = null;
  private timers: NodeJS.Timeout[] = [];
  private closed = false;
  private diskFull = false;
  private freeBytes: number | null = null;
  private readonly pruned = { segments: 0, bytes: 0 };
  private readonly reconciled = { adopted: 0, removedFiles: 0, removedRows: 0 };
  private pruning: Promise<void> | null = null;
  private archiving: Promise<void> | null = null;
  private archiveAgain = false;
  private readonly archivedInits = new Set<string>();
  private readonly archived = { segments: 0, bytes: 0, failures: 0 };
  private readonly minFree: number;
  private readonly held = new Map<string, { jpeg: Uint8Array; capturedAt: number }[]>();
  private readonly unknownSince = new Map<string, number>();

  constructor(private readonly o: RecordingServiceOptions) {
    this.minFree = o.minFreeBytes ?? 1024 ** 3;
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Reconciles the index with the disk, then records from the bus (frames from now on). */
  async start(bus: Bus, durable = 'recorder'): Promise<void> {
    this.ffmpeg = await this.o.ffmpeg();
    await mkdir(join(this.o.root, 'recordings'), { recursive: true });
    const known = new Set([...this.o.cameras().map((c) => c.id), ...(await this.o.recordings.cameras()), ...(await this.camerasOnDisk())]);
    for (const camera of known) await this.reconcile(camera);
    await this.checkDisk();
    this.consumer = await bus.consume('frames.redacted', { durable, batch: 64, deliverFrom: 'new', ackWaitMs: 10_000 }, async (msgs) => {
      for (const m of msgs) {
        const body = m.envelope.body;
        if (body) this.push(m.camera, body, m.envelope.meta.capturedAt);
        m.ack();
      }
    });
    const prune = setInterval(() => void this.prune(), this.o.pruneEveryMs ?? 60_000);
    const disk = setInterval(() => void this.checkDisk(), this.o.diskCheckEveryMs ?? 5_000);
    const idle = setInterval(() => void this.closeIdle(), 2_500);
    prune.unref();
    disk.unref();
    idle.unref();
    this.timers.push(prune, disk, idle);
    if (this.o.archive) {
      // What a crash left unarchived goes now; then after each segment, and on a timer for retries.
      const again = setInterval(() => void this.archive(), this.o.archiveEveryMs ?? 10_000);
      again.unref();
      this.timers.push(again);
      void this.archive();
    }
    this.o.log.info({ root: this.o.root, cameras: known.size, archive: this.o.archive?.where ?? null }, 'recording service started');
  }

  /** One redacted frame: recorded if the camera records. */
  push(camera: string, jpeg: Uint8Array, capturedAt: number): void {
    if (this.closed || !this.ffmpeg || this.discarded.has(camera)) return;
    let rec = this.recorders.get(camera);
    if (!rec) {
      const cam = this.o.cameras().find((c) => c.id === camera);
      if (!cam) return this.hold(camera, jpeg, capturedAt);
      // An uploaded video's virtual camera is never started by ingest (enabled: false) but is recorded.
      if (!(cam.enabled || cam.origin === 'upload') || !cam.recording.enabled) return;
      rec = new CameraRecorder({
        camera,
        ffmpeg: this.ffmpeg,
        root: this.o.root,
        fps: cam.fps,
        log: this.o.log,
        onSegment: (s) => this.index(s),
        timing: cam.origin === 'upload' ? 'frames' : 'arrival',
      });
      this.recorders.set(camera, rec);
      if (this.diskFull) void rec.pause(this.diskFullReason());
    }
    rec.push(jpeg, capturedAt);
  }

  /** A frame of a camera not in the list: held while the list is re-read (once), then recorded or dropped. */
  private hold(camera: string, jpeg: Uint8Array, capturedAt: number): void {
    const refresh = this.o.refreshCameras;
    if (!refresh) return;
    const held = this.held.get(camera);
    if (held) {
      if (held.length < HELD_FRAMES) held.push({ jpeg, capturedAt });
      return;
    }
    const since = this.unknownSince.get(camera);
    if ((since !== undefined && Date.now() - since < UNKNOWN_FOR_MS) || this.held.size >= HELD_CAMERAS) return;
    this.held.set(camera, [{ jpeg, capturedAt }]);
    void refresh()
      .catch((err: unknown) => this.o.log.warn({ err, camera }, 'cannot re-read the camera list'))
      .then(() => {
        const frames = this.held.get(camera) ?? [];
        this.held.delete(camera);
        if (!this.o.cameras().some((c) => c.id === camera)) {
          this.unknownSince.set(camera, Date.now());
          return;
        }
        this.unknownSince.delete(camera);
        for (const f of frames) this.push(camera, f.jpeg, f.capturedAt);
      });
  }

  private async index(s: RecordingSegment & { originTicks?: number }): Promise<void> {
    const { originTicks: _origin, ...segment } = s;
    await this.o.recordings.add(segment, this.now());
    if (this.o.archive && !this.closed) void this.archive();
  }

  /** Moves indexed segments to the archive, oldest first (one pass at a time; a call during a pass runs another). */
  archive(): Promise<void> {
    if (!this.o.archive) return Promise.resolve();
    if (this.archiving) {
      this.archiveAgain = true;
      return this.archiving;
    }
    this.archiving = (async () => {
      do {
        this.archiveAgain = false;
        await this.archiveOnce(this.o.archive!);
      } while (this.archiveAgain && !this.closed);
    })().finally(() => {
      this.archiving = null;
    });
    return this.archiving;
  }

  /**
   * Order keeps the index true: the init segment, then the segment, are stored in the archive; then
   * the row is marked archived; then the local file goes. A failure leaves the segment local (and
   * served from there) for the next pass.
   */
  private async archiveOnce(archive: ObjectStore): Promise<void> {
    for (;;) {
      let batch: RecordingSegment[];
      try {
        batch = await this.o.recordings.unarchived(100);
      } catch (err) {
        this.o.log.warn({ err }, 'cannot list segments to archive');
        return;
      }
      for (const seg of batch) {
        try {
          if (!this.archivedInits.has(seg.initPath)) {
            await archive.putFile(seg.initPath, join(this.o.root, seg.initPath));
            this.archivedInits.add(seg.initPath);
          }
          await archive.putFile(seg.path, join(this.o.root, seg.path));
          if ((await this.o.recordings.markArchived(seg.camera, [seg])) === 0) {
            // Its row went meanwhile (pruned, or a removed upload): so does the copy just made.
            await archive.delete([seg.path]);
            continue;
          }
          await unlink(join(this.o.root, seg.path)).catch(() => undefined);
          this.archived.segments++;
          this.archived.bytes += seg.bytes;
        } catch (err) {
          this.archived.failures++;
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
            // Its file is gone (pruned meanwhile, or a removed upload): nothing to archive.
            if (!(await this.o.recordings.get(seg.camera, seg.run, seg.seq).catch(() => null))) continue;
          }
          if (this.archived.failures % 20 === 1) this.o.log.warn({ err, camera: seg.camera, path: seg.path, failures: this.archived.failures }, 'segment not archived yet (kept on disk, retried)');
          return;
        }
      }
      if (batch.length < 100 || this.closed) return;
    }
  }

  /** A camera's recorder state and what its index holds. */
  async health(camera: string): Promise<RecordingHealth> {
    const totals = await this.o.recordings.totals(camera);
    return { ...this.stateOf(camera), ...totals };
  }

  /** Every known camera's recorder state without its totals (published for web processes elsewhere). */
  states(): Record<string, Pick<RecordingHealth, 'state' | 'error'>> {
    const out: Record<string, Pick<RecordingHealth, 'state' | 'error'>> = {};
    for (const cam of this.o.cameras()) out[cam.id] = this.stateOf(cam.id);
    return out;
  }

  /** Frames in and dropped per camera, as stage counters. */
  stageCounters(): Record<string, { processed: number; skipped: number; failures: number }> {
    const out: Record<string, { processed: number; skipped: number; failures: number }> = {};
    for (const [id, r] of this.recorders) {
      const st = r.stats();
      out[id] = { processed: st.framesIn - st.framesDropped, skipped: 0, failures: 0 };
    }
    return out;
  }

  private stateOf(camera: string): Pick<RecordingHealth, 'state' | 'error'> {
    const cam = this.o.cameras().find((c) => c.id === camera);
    const rec = this.recorders.get(camera);
    const on = cam !== undefined && (cam.enabled || cam.origin === 'upload') && cam.recording.enabled;
    if (on && (this.diskFull || rec?.paused)) return { state: 'stopped', error: rec?.error ?? this.diskFullReason() };
    if (on && rec?.error && !rec.currentRun) return { state: 'stopped', error: rec.error };
    return { state: on ? 'recording' : 'off', error: null };
  }

  /** A camera was removed or stopped recording: its recorder finishes its segment and goes (the recording stays until retention). */
  async forget(camera: string): Promise<void> {
    const rec = this.recorders.get(camera);
    this.recorders.delete(camera);
    await rec?.close();
  }

  /** Recorders with no frame for idleCloseMs finish their open segment (indexed) and stop; the next frame starts a new run. */
  async closeIdle(): Promise<void> {
    const cut = Date.now() - (this.o.idleCloseMs ?? 15_000);
    for (const [id, r] of [...this.recorders]) if (!r.paused && r.lastFrameAt > 0 && r.lastFrameAt < cut) await this.forget(id);
  }

  /** Waits until a camera's recorder has indexed everything it was given (an upload's last segment): closes it. */
  async finish(camera: string): Promise<void> {
    await this.forget(camera);
  }

  /** A camera whose recording is being deleted (a cancelled upload): its recorder stops and its late frames are ignored for 10 minutes. */
  async discard(camera: string): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.discarded) if (now - at > 600_000) this.discarded.delete(id);
    this.discarded.set(camera, now);
    await this.forget(camera);
  }

  /** Stops recorders of cameras no longer in the list or no longer recording. */
  async sync(): Promise<void> {
    const on = new Set(this.o.cameras().filter((c) => (c.enabled || c.origin === 'upload') && c.recording.enabled).map((c) => c.id));
    for (const id of [...this.recorders.keys()]) if (!on.has(id)) await this.forget(id);
  }

  private diskFullReason(): string {
    const free = this.freeBytes === null ? 'unknown' : `${Math.round(this.freeBytes / 1024 ** 2)} MB`;
    return `recording stopped: disk full (${free} free under ${this.o.root}, needs ${Math.round(this.minFree / 1024 ** 2)} MB)`;
  }

  /** Pauses every recorder below the free-space floor; resumes above it plus 10 % (no flapping). */
  async checkDisk(): Promise<void> {
    let free: number;
    try {
      free = await (this.o.freeBytes ?? defaultFreeBytes)(this.o.root);
    } catch (err) {
      this.o.log.warn({ err, root: this.o.root }, 'cannot read free space of the media root');
      return;
    }
    this.freeBytes = free;
    if (!this.diskFull && free < this.minFree) {
      this.diskFull = true;
      this.o.log.error({ root: this.o.root, freeBytes: free, minFreeBytes: this.minFree }, 'disk full: recording stopped');
      await Promise.all([...this.recorders.values()].map((r) => r.pause(this.diskFullReason())));
    } else if (this.diskFull && free >= this.minFree * 1.1) {
      this.diskFull = false;
      this.o.log.info({ root: this.o.root, freeBytes: free }, 'disk space back: recording resumes');
      for (const r of this.recorders.values()) r.resume();
    }
  }

  /** Applies every camera's retention once (also called on a timer). */
  prune(): Promise<void> {
    this.pruning ??= this.pruneOnce().finally(() => {
      this.pruning = null;
    });
    return this.pruning;
  }

  private async pruneOnce(): Promise<void> {
    const now = this.now();
    const byId = new Map(this.o.cameras().map((c) => [c.id, c]));
    for (const camera of await this.o.recordings.cameras()) {
      const cam = byId.get(camera);
      // A removed camera's recording follows the default retention (7 days) until it is gone.
      const days = cam?.recording.retainDays ?? 7;
      const cap = (cam?.recording.retainGb ?? 10) * 1e9;
      try {
        for (;;) {
          const old = await this.o.recordings.prunable(camera, { endedBefore: now - days * 86_400_000, limit: 500 });
          if (old.length === 0) break;
          await this.remove(camera, old);
          if (old.length < 500) break;
        }
        let totals = await this.o.recordings.totals(camera);
        while (totals.bytes > cap) {
          const oldest = await this.o.recordings.prunable(camera, { limit: 50 });
          const take: RecordingSegment[] = [];
          let over = totals.bytes - cap;
          for (const s of oldest) {
            if (over <= 0) break;
            take.push(s);
            over -= s.bytes;
          }
          if (take.length === 0) break; // the rest is held
          await this.remove(camera, take);
          totals = await this.o.recordings.totals(camera);
        }
        await this.removeEmptyRuns(camera);
      } catch (err) {
        this.o.log.warn({ err, camera }, 'retention failed (retried at the next pass)');
      }
    }
  }

  /** Index rows first, then files: a crash in between leaves files the reconcile removes, never a row without a file. */
  private async remove(camera: string, segments: readonly RecordingSegment[]): Promise<void> {
    await this.o.recordings.delete(camera, segments);
    const archived = segments.filter((s) => s.archived).map((s) => s.path);
    if (archived.length && this.o.archive) {
      await this.o.archive.delete(archived).catch((err: unknown) => this.o.log.warn({ err, camera, segments: archived.length }, 'cannot delete pruned segments from the archive (left there)'));
    }
    for (const s of segments) {
      await unlink(join(this.o.root, s.path)).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') this.o.log.warn({ err, camera, path: s.path }, 'cannot delete a pruned segment');
      });
      this.pruned.segments++;
      this.pruned.bytes += s.bytes;
    }
    this.o.log.info({ camera, segments: segments.length, from: segments[0]?.startAt, to: segments[segments.length - 1]?.endAt }, 'pruned recording');
  }

  private async removeEmptyRuns(camera: string): Promise<void> {
    const active = this.recorders.get(camera)?.currentRun;
    // With an archive a run's folder goes once its segments have (its init segment was archived with the first).
    const indexed = new Set(this.o.archive ? [] : await this.o.recordings.runs(camera));
    for (const run of await this.runsOnDisk(camera)) {
      if (run === active || indexed.has(run)) continue;
      const files = await readdir(runDir(this.o.root, camera, run)).catch(() => []);
      if (files.some((f) => SEGMENT_FILE.test(f))) continue;
      await rm(runDir(this.o.root, camera, run), { recursive: true, force: true });
    }
  }

  private async camerasOnDisk(): Promise<string[]> {
    try {
      return (await readdir(join(this.o.root, 'recordings'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      return [];
    }
  }

  private async runsOnDisk(camera: string): Promise<string[]> {
    try {
      return (await readdir(join(this.o.root, 'recordings', camera), { withFileTypes: true }))
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  /**
   * Makes a camera's index and disk agree (at start-up, before recording): rows whose file is gone are
   * deleted; finished segments a crash left unindexed (listed in ffmpeg's playlist, after the run's last
   * indexed one) are inspected and indexed; partial and temporary files, and listed files at or before
   * the last indexed one (a prune interrupted between row and file), are removed.
   */
  async reconcile(camera: string): Promise<void> {
    const onDisk = await this.runsOnDisk(camera);
    const indexedRuns = new Set(await this.o.recordings.runs(camera));
    for (const run of indexedRuns) {
      if (onDisk.includes(run)) continue;
      // An archived segment lives in the archive: only rows of files that were on this disk are checked.
      const rows = (await this.o.recordings.run(camera, run)).filter((r) => !r.archived);
      this.reconciled.removedRows += await this.o.recordings.delete(camera, rows);
    }
    for (const run of onDisk) {
      const dir = runDir(this.o.root, camera, run);
      const files = await readdir(dir).catch(() => [] as string[]);
      const rows = await this.o.recordings.run(camera, run);
      const bySeq = new Map(rows.map((r) => [r.seq, r]));
      // Rows whose file is missing (archived ones live in the archive; a local copy a crash left behind goes).
      for (const r of rows) if (r.archived && files.includes(r.path.slice(r.path.lastIndexOf('/') + 1))) await unlink(join(this.o.root, r.path)).catch(() => undefined);
      const missing = rows.filter((r) => !r.archived && !files.includes(r.path.slice(r.path.lastIndexOf('/') + 1)));
      if (missing.length) this.reconciled.removedRows += await this.o.recordings.delete(camera, missing);
      for (const m of missing) bySeq.delete(m.seq);
      const lastIndexed = Math.max(-1, ...bySeq.keys());
      let listed: string[] = [];
      try {
        listed = playlistSegments(await readFile(join(dir, 'index.m3u8'), 'utf8'));
      } catch {
        /* no playlist: nothing finished */
      }
      let info: RunInfo | null = null;
      try {
        info = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8')) as RunInfo;
      } catch {
        /* without run.json the run's times are unknown: its unindexed segments cannot be adopted */
      }
      let origin: number | null = null;
      for (const file of files) {
        const m = SEGMENT_FILE.exec(file);
        const seq = m ? Number(m[1]) : -1;
        if (m && bySeq.has(seq)) continue;
        const finished = m !== null && listed.includes(file) && seq > lastIndexed;
        if (finished && info && info.firstWrittenAt > 0) {
          try {
            const init = readInit(await readFile(join(dir, 'init.mp4')));
            // Media time 0 is the run's first segment's decode time.
            if (origin === null) {
              const first = files.includes('seg-000000.m4s') ? await inspectSegment(dir, 'seg-000000.m4s', 0, info, init, null, (t) => t).catch(() => null) : null;
              origin = first?.originTicks ?? 0;
            }
            const runInfo = info;
            const s = await inspectSegment(dir, file, seq, info, init, origin, (t) => runInfo.firstCapturedAt + t);
            await this.index(s);
            this.reconciled.adopted++;
            continue;
          } catch (err) {
            this.o.log.warn({ err, camera, run, file }, 'unindexed segment does not read: removing it');
          }
        }
        if (m || file.endsWith('.tmp')) {
          await unlink(join(dir, file)).catch(() => undefined);
          this.reconciled.removedFiles++;
        }
      }
    }
    await this.removeEmptyRuns(camera);
    if (this.reconciled.adopted || this.reconciled.removedFiles || this.reconciled.removedRows) {
      this.o.log.info({ camera, ...this.reconciled }, 'recording index reconciled with the disk');
    }
  }

  stats(): RecordingServiceStats {
    const cameras: RecordingServiceStats['cameras'] = {};
    for (const [id, r] of this.recorders) cameras[id] = { ...r.stats(), paused: r.paused };
    return { cameras, diskFull: this.diskFull, freeBytes: this.freeBytes, pruned: { ...this.pruned }, reconciled: { ...this.reconciled }, archived: this.o.archive ? { ...this.archived } : null };
  }

  /** Finishes every open segment (indexed), stops. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    await this.consumer?.close();
    await Promise.all([...this.recorders.values()].map((r) => r.close()));
    this.recorders.clear();
    await this.pruning;
    // The last segments were indexed as the recorders closed: archive them before stopping.
    await this.archive();
  }
}

async function defaultFreeBytes(root: string): Promise<number> {
  const s = await statfs(root);
  return s.bavail * s.bsize;
}
