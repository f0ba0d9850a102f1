/**
 * `npm run bench`: runs cameras of real footage (Debian's vtest.avi; testsrc2 when it is absent)
 * through the REAL embedded pipeline (ingest → privacy → live wall over Socket.io) at a 10 fps video
 * rate and the default analysis rate, measures a steady-state phase and an overload phase (2× the
 * cameras), the CPU of each analysed frame (the real cascade, frame by frame), the models alone, and
 * prints ONE JSON line last on stdout. See bench/README.md for what each figure means.
 *
 * Env: BENCH_CAMERAS (4), BENCH_SECONDS (60), BENCH_OVERLOAD_SECONDS (30, 0 = skip),
 * BENCH_OVERLOAD_FACTOR (2), BENCH_WARMUP_SECONDS (5), BENCH_FPS (10), BENCH_ANALYSIS_FPS (2), BENCH_WIDTH (640),
 * BENCH_MODEL_FRAMES (40), BENCH_ALERT_SECONDS (60, 0 = skip), BENCH_BROWSER_SECONDS (20 per window, 0 = skip),
 * BENCH_RAMP (6,8,10,12: camera counts tried above the nominal one), BENCH_RAMP_SECONDS (20, 0 = skip),
 * BENCH_LOG_LEVEL (warn), PRIVACY_FACE_MODEL,
 * PRIVACY_REPLICAS, MATCH_HYSTERESIS.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Alert, ClientToServerEvents, RedactedFrameMeta, ServerToClientEvents, StreamsConfig } from '@chronotrace/contracts';
import type { Socket } from 'socket.io-client';
import type { Runtime as RuntimeT } from '../web/server/runtime';
import { descendants, procAvailable, type ProcSample } from './proc-stats';
import { measureBrowserWall } from './browser-wall';
import { measureWebrtcIngest } from './webrtc-ingest';
import { measureReidSplit, type ReidSplitFigures } from '../test/support/reid-split';

// Logs go to stdout: quiet them BEFORE anything creates the root logger (it reads LOG_LEVEL once).
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'warn';
process.env.LOG_LEVEL = LOG_LEVEL;

// Imported after LOG_LEVEL is set (static imports would be evaluated first).
const { parseEnv, validateStreamsConfig } = await import('@chronotrace/platform');
const { measurePrivacyModels, measureAnalysedFrameCpu } = await import('@chronotrace/pipeline');
const { Runtime } = await import('../web/server/runtime');
const { io } = await import('socket.io-client');

class BenchError extends Error {
  override name = 'BenchError';
}

function numEnv(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max) throw new BenchError(`${name}=${raw}: expected a number in [${min}, ${max}]`);
  return v;
}

const FACE_MODEL = process.env.PRIVACY_FACE_MODEL ?? 'blazeface';
function fail(e: unknown): never {
  const msg = e instanceof BenchError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`bench failed: ${msg}\n`);
  process.exit(1);
}

const opts = (() => {
  try {
    return readOptions();
  } catch (e) {
    return fail(e);
  }
})();

/** Camera counts, ascending, distinct, each in [1, 64]. */
function rampEnv(raw: string): number[] {
  const xs = raw.split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
  if (xs.some((x) => !Number.isInteger(x) || x < 1 || x > 64)) throw new BenchError(`BENCH_RAMP=${raw}: expected comma-separated camera counts in [1, 64]`);
  return [...new Set(xs)].sort((a, b) => a - b);
}

function readOptions() {
  return {
    cameras: Math.round(numEnv('BENCH_CAMERAS', 4, 1, 64)),
    seconds: numEnv('BENCH_SECONDS', 60, 1, 3600),
    overloadSeconds: numEnv('BENCH_OVERLOAD_SECONDS', 30, 0, 3600),
    overloadFactor: numEnv('BENCH_OVERLOAD_FACTOR', 2, 1, 16),
    warmupSeconds: numEnv('BENCH_WARMUP_SECONDS', 5, 0, 600),
    fps: numEnv('BENCH_FPS', 10, 0.1, 30),
    analysisFps: numEnv('BENCH_ANALYSIS_FPS', 2, 0.1, 30),
    width: Math.round(numEnv('BENCH_WIDTH', 640, 64, 3840)),
    modelFrames: Math.round(numEnv('BENCH_MODEL_FRAMES', 40, 1, 1000)),
    alertSeconds: numEnv('BENCH_ALERT_SECONDS', 60, 0, 3600),
    browserSeconds: numEnv('BENCH_BROWSER_SECONDS', 20, 0, 3600),
    ramp: rampEnv(process.env.BENCH_RAMP ?? '6,8,10,12'),
    rampSeconds: numEnv('BENCH_RAMP_SECONDS', 20, 0, 3600),
    // Same default as the app: one face-model thread per core, at most 4.
    replicas: process.env.PRIVACY_REPLICAS ?? String(parseEnv({}).PRIVACY_REPLICAS),
  };
}
const TARGETS = { vector_search_p95_ms: 20, upload_speed_x_realtime: 4, search_p95_ms: 100, recording_cpu_percent_per_camera: 5, glass_to_wall_webrtc_p50_ms: 400, ingest_to_wall_p50_ms: 250, ingest_to_wall_p99_ms: 600, alert_p50_ms: 300, alert_p99_ms: 700, redacted_fps_per_camera_min: 10, analysed_frame_cpu_ms_p50: 120, max_cameras_sustained: 8 } as const;
/** Real pedestrians (Debian's opencv-doc), for the alert phase: the test pattern has no one to alert on. */
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
/** The alert phase arms this on every camera, with no cooldown, so every new person track fires once. */
const ALERT_QUERY = 'person';
/** The anomaly rule armed beside it: every crossing of the camera's middle line alerts. */
const ANOMALY_QUERY = 'people crossing the mid line';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const r1 = (v: number): number => Math.round(v * 10) / 10;
const r3 = (v: number): number => Math.round(v * 1000) / 1000;

/** Nearest-rank percentile (same definition as LatencyWindow); null when empty. */
function pct(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return r1(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number);
}
function dist(values: number[]): { p50: number | null; p99: number | null; max: number | null; count: number } {
  const s = [...values].sort((a, b) => a - b);
  return { p50: pct(s, 50), p99: pct(s, 99), max: s.length ? r1(s[s.length - 1] as number) : null, count: s.length };
}

interface Counters {
  at: number;
  published: number;
  droppedBackpressure: number;
  processed: number;
  skipped: number;
  failures: number;
  /** Processed frames whose object detection ran / was skipped by motion gating. */
  objectRuns: number;
  motionSkipped: number;
  cpuMicros: number;
  children: Map<number, ProcSample>;
}

function snapshot(rt: RuntimeT, withProc: boolean): Counters {
  let published = 0;
  let droppedBackpressure = 0;
  for (const c of Object.values(rt.ingest?.toJSON().cameras ?? {})) {
    published += c.published;
    droppedBackpressure += c.droppedBackpressure;
  }
  let processed = 0;
  let skipped = 0;
  let failures = 0;
  for (const c of Object.values(rt.privacy?.counters() ?? {})) {
    processed += c.processed;
    skipped += c.skipped;
    failures += c.failures;
  }
  let objectRuns = 0;
  let motionSkipped = 0;
  for (const st of rt.privacy?.toJSON().stages ?? []) {
    for (const c of Object.values(st.cameras)) {
      objectRuns += c.objectRuns;
      motionSkipped += c.motionSkipped;
    }
  }
  const u = process.cpuUsage();
  const children = new Map<number, ProcSample>();
  if (withProc) for (const s of descendants()) children.set(s.pid, s);
  return { at: performance.now(), published, droppedBackpressure, processed, skipped, failures, objectRuns, motionSkipped, cpuMicros: u.user + u.system, children };
}

type Part = 'total' | 'face' | 'text' | 'objects' | 'redact';
/** Stage percentiles from PrivacyCore's latency windows; with several replicas, the worst replica's. */
function stageMs(rt: RuntimeT): Record<'privacy' | 'face' | 'text' | 'objects' | 'redact', { p50: number | null; p99: number | null; count: number }> {
  const stages = rt.privacy?.toJSON().stages ?? [];
  const merge = (part: Part): { p50: number | null; p99: number | null; count: number } => {
    const xs = stages.map((s) => s.core.ms[part]);
    const max = (vs: (number | null)[]): number | null => {
      const ok = vs.filter((v): v is number => v !== null);
      return ok.length ? Math.max(...ok) : null;
    };
    return { p50: max(xs.map((x) => x.p50)), p99: max(xs.map((x) => x.p99)), count: xs.reduce((a, x) => a + x.count, 0) };
  };
  return { privacy: merge('total'), face: merge('face'), text: merge('text'), objects: merge('objects'), redact: merge('redact') };
}

/** Real footage when Debian's opencv-doc is installed, else ffmpeg's moving test pattern. */
const FOOTAGE = existsSync('/usr/share/doc/opencv-doc/examples/data/vtest.avi') ? '/usr/share/doc/opencv-doc/examples/data/vtest.avi' : 'testsrc:testsrc2';

function cameraConfigs(n: number, source = FOOTAGE): StreamsConfig {
  return validateStreamsConfig({
    cameras: Array.from({ length: n }, (_, i) => ({
      id: `bench-${i}`,
      name: `Bench ${i}`,
      source,
      fps: opts.fps,
      analysisFps: opts.analysisFps,
      width: opts.width,
      // A line down the middle, for the anomaly rule of the alert phase.
      lines: [{ name: 'mid', from: [0.5, 0] as [number, number], to: [0.5, 1] as [number, number] }],
    })),
  });
}

interface PhaseResult {
  /** The recorders' ffmpeg CPU over the phase, % of one core per recording camera, and what they wrote. */
  recording: { cpu_percent_per_camera: number | null; cameras: number; segments: number; mb_per_hour_per_camera: number | null };
  cameras: number;
  offered_fps: number;
  duration_s: number;
  fps_in: number;
  fps_out: number;
  /** Redacted frames each camera delivered to the wall per second: the median camera and the worst. */
  redacted_fps_per_camera: { p50: number | null; min: number | null };
  ingest_to_wall_ms: { p50: number | null; p99: number | null; max: number | null; count: number };
  /** p50 of ingest→wall in each third of the window: flat = bounded, rising = a queue is growing. */
  ingest_to_wall_p50_by_third_ms: (number | null)[];
  /** Where the ingest→wall time goes, p50 and p99 of each part per delivered frame. */
  latency_breakdown_ms: {
    queue_before_privacy: { p50: number | null; p99: number | null };
    privacy: { p50: number | null; p99: number | null };
    privacy_to_wall: { p50: number | null; p99: number | null };
  };
  skipped_ratio: number;
  /** Of the frames processed in the window, the share whose object detection was skipped by motion gating (last detections reused). */
  motion_skipped_ratio: number;
  redaction_failures: number;
  dropped_backpressure: number;
  privacy_processed_fps: number;
  stage_ms: ReturnType<typeof stageMs>;
  cpu_percent: { node: number; children: number | null; total: number | null; machine_capacity: number; children_count: number | null };
  peak_rss_mb: number;
  peak_children_rss_mb: number | null;
  startup_s: number;
  /** Frame captured at ingest → alert received by the Socket.io client (alert phase only). */
  alert_latency_ms: { p50: number | null; p99: number | null; max: number | null; count: number };
  /** The anomaly rule's alerts: the frame where the condition became true (the crossing) → Socket.io client. */
  anomaly_latency_ms: { p50: number | null; p99: number | null; max: number | null; count: number };
  /** Where an alert's time goes: capture → redacted, redacted → fired (scene + match), fired → socket. */
  alert_breakdown_ms: { privacy: { p50: number | null; p99: number | null }; analytics: { p50: number | null; p99: number | null }; to_socket: { p50: number | null; p99: number | null } };
  alerts: number;
}

/** Delivered redacted frames per second of each camera (a camera that delivered none counts as 0). */
function perCamera(received: { meta: RedactedFrameMeta }[], cameras: number, wallS: number): { p50: number | null; min: number | null } {
  const counts = new Map<string, number>();
  for (let i = 0; i < cameras; i++) counts.set(`bench-${i}`, 0);
  for (const x of received) counts.set(x.meta.camera, (counts.get(x.meta.camera) ?? 0) + 1);
  const fps = [...counts.values()].map((n) => n / wallS).sort((a, b) => a - b);
  return { p50: pct(fps, 50), min: fps.length ? r1(fps[0] as number) : null };
}

/** The runtime's environment in every phase. */
function benchEnv(dataDir: string, extra: Record<string, string> = {}): ReturnType<typeof parseEnv> {
  return parseEnv({
    MODE: 'embedded',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL,
    PRIVACY_FACE_MODEL: FACE_MODEL,
    PRIVACY_REPLICAS: opts.replicas,
    PRIVACY_OBJECT_DETECTION: process.env.PRIVACY_OBJECT_DETECTION,
    MATCH_HYSTERESIS: process.env.MATCH_HYSTERESIS,
    // Every new track fires: the phase measures latency, not the cooldown.
    MATCH_COOLDOWN_S: '0',
    ...extra,
  });
}

/**
 * The wall in a real Chromium: JPEG tiles, then WebRTC video tiles, on the nominal cameras; then a
 * WebRTC camera published from Chromium beside them (webrtc_ingest_ms).
 */
async function runBrowserPhase(seconds: number): Promise<{ wall: Awaited<ReturnType<typeof measureBrowserWall>>; ingest: Awaited<ReturnType<typeof measureWebrtcIngest>> }> {
  const dataDir = await mkdtemp(join(os.tmpdir(), 'ct-bench-browser-'));
  let rt: RuntimeT | undefined;
  try {
    rt = await Runtime.start({ env: benchEnv(dataDir, { WEBRTC: 'on', WEBRTC_ADDRESS: '127.0.0.1' }), config: cameraConfigs(opts.cameras) });
    const ids = Array.from({ length: opts.cameras }, (_, i) => `bench-${i}`);
    const wall = await measureBrowserWall(rt, ids, opts.warmupSeconds, seconds);
    const ingest = await measureWebrtcIngest(rt, opts.warmupSeconds, seconds);
    return { wall, ingest };
  } finally {
    await rt?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** What a phase runs: its cameras' source and the standing queries armed before it is measured. */
interface Scenario {
  source: string;
  queries: string[];
}

/**
 * One phase: a fresh embedded runtime with `cameras` cameras, a Socket.io client on the wall,
 * `warmupSeconds` discarded, then `seconds` measured. `sample` receives raw frames (for the models-alone baseline).
 */
async function runPhase(name: string, cameras: number, seconds: number, sample?: (jpeg: Uint8Array) => void, scenario?: Scenario): Promise<PhaseResult> {
  const dataDir = await mkdtemp(join(os.tmpdir(), `ct-bench-${name}-`));
  const withProc = procAvailable();
  let rt: RuntimeT | undefined;
  let socket: Socket<ServerToClientEvents, ClientToServerEvents> | undefined;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    const t0 = performance.now();
    rt = await Runtime.start({ env: benchEnv(dataDir), config: cameraConfigs(cameras, scenario?.source) });
    for (const text of scenario?.queries ?? []) {
      const r = await rt.queries.create({ text, severity: 'info' });
      if (!r.ok) throw new BenchError(`query "${text}" was refused: ${r.error}`);
    }
    const startup = (performance.now() - t0) / 1000;
    const runtime = rt;

    // Raw-frame sampler: its own durable on frames.raw (acks at once), only when asked.
    let measuring = false;
    if (sample) {
      await runtime.ports.bus.consume('frames.raw', { durable: 'bench-sampler', batch: 16, deliverFrom: 'new' }, async (msgs) => {
        for (const m of msgs) {
          if (measuring && m.envelope.body) sample(m.envelope.body.slice());
          m.ack();
        }
      });
    }

    const received: { at: number; meta: RedactedFrameMeta }[] = [];
    socket = io(runtime.url, { transports: ['websocket'], reconnection: false });
    const s = socket;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new BenchError(`socket.io client could not connect to ${runtime.url} within 10 s`)), 10_000);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      s.once('connect_error', (e) => {
        clearTimeout(timer);
        reject(new BenchError(`socket.io client could not connect to ${runtime.url}: ${e.message}`));
      });
    });
    s.on('frame', (f) => {
      if (measuring) received.push({ at: Date.now(), meta: f.meta });
    });
    const alerts: { at: number; alert: Alert }[] = [];
    s.on('alert', (alert) => {
      if (measuring) alerts.push({ at: Date.now(), alert });
    });

    await sleep(opts.warmupSeconds * 1000);
    let peakRss = process.memoryUsage().rss;
    let peakChildrenRss = 0;
    rssTimer = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
      if (withProc) peakChildrenRss = Math.max(peakChildrenRss, descendants().reduce((a, c) => a + c.rssBytes, 0));
    }, 250);
    const recordingOf = (): { cpu: number; segments: number; cameras: number } => {
      const st = runtime.recording?.stats();
      const cams = Object.values(st?.cameras ?? {});
      return { cpu: cams.reduce((n, c) => n + c.cpuSeconds, 0), segments: cams.reduce((n, c) => n + c.segments, 0), cameras: cams.length };
    };
    const recBytes = async (): Promise<number> => {
      let n = 0;
      for (let i = 0; i < cameras; i++) n += (await runtime.ports.store.recordings.totals(`bench-${i}`)).bytes;
      return n;
    };
    const recA = recordingOf();
    const bytesA = await recBytes();
    const a = snapshot(runtime, withProc);
    measuring = true;
    await sleep(seconds * 1000);
    measuring = false;
    const b = snapshot(runtime, withProc);
    const recB = recordingOf();
    const bytesB = await recBytes();
    clearInterval(rssTimer);
    rssTimer = undefined;
    const stages = stageMs(runtime);

    const wallS = (b.at - a.at) / 1000;
    let childSeconds = 0;
    for (const [pid, end] of b.children) childSeconds += end.cpuSeconds - (a.children.get(pid)?.cpuSeconds ?? 0);
    const nodePct = ((b.cpuMicros - a.cpuMicros) / 1e6 / wallS) * 100;
    const childPct = withProc ? (childSeconds / wallS) * 100 : null;
    const publishedIn = b.published - a.published;
    if (publishedIn === 0) throw new BenchError(`phase ${name}: ingest published no frame in ${seconds} s (is ffmpeg working?)`);
    if (received.length === 0) throw new BenchError(`phase ${name}: the wall delivered no frame in ${seconds} s`);

    const lat = received.map((x) => x.at - x.meta.capturedAt);
    const startWall = Date.now() - (performance.now() - a.at);
    const third = (i: number): number | null =>
      dist(received.filter((x) => Math.min(2, Math.floor(((x.at - startWall) / 1000 / wallS) * 3)) === i).map((x) => x.at - x.meta.capturedAt)).p50;
    const queue = received.map((x) => x.meta.redaction.redactedAt - x.meta.redaction.ms - x.meta.capturedAt);
    const priv = received.map((x) => x.meta.redaction.ms);
    const toWall = received.map((x) => x.at - x.meta.redaction.redactedAt);
    const pp = (v: number[]): { p50: number | null; p99: number | null } => {
      const d = dist(v);
      return { p50: d.p50, p99: d.p99 };
    };
    // The redaction time of an alert's frame: from the frames the wall received (same frameId).
    const redactedAt = new Map(received.map((x) => [x.meta.frameId, x.meta.redaction.redactedAt]));
    const withRedaction = alerts.filter((x) => redactedAt.has(x.alert.frameId));
    return {
      recording: {
        cpu_percent_per_camera: recB.cameras > 0 ? r1((((recB.cpu - recA.cpu) / wallS) * 100) / recB.cameras) : null,
        cameras: recB.cameras,
        segments: recB.segments - recA.segments,
        mb_per_hour_per_camera: recB.cameras > 0 ? r1(((bytesB - bytesA) / 1024 ** 2 / wallS) * 3600 / recB.cameras) : null,
      },
      cameras,
      offered_fps: r1(cameras * opts.fps),
      duration_s: r1(wallS),
      fps_in: r3(publishedIn / wallS),
      fps_out: r3(received.length / wallS),
      redacted_fps_per_camera: perCamera(received, cameras, wallS),
      ingest_to_wall_ms: dist(lat),
      ingest_to_wall_p50_by_third_ms: [third(0), third(1), third(2)],
      latency_breakdown_ms: { queue_before_privacy: pp(queue), privacy: pp(priv), privacy_to_wall: pp(toWall) },
      skipped_ratio: r3((b.skipped - a.skipped) / publishedIn),
      motion_skipped_ratio: r3((b.motionSkipped - a.motionSkipped) / Math.max(1, b.motionSkipped - a.motionSkipped + (b.objectRuns - a.objectRuns))),
      redaction_failures: b.failures - a.failures,
      dropped_backpressure: b.droppedBackpressure - a.droppedBackpressure,
      privacy_processed_fps: r3((b.processed - a.processed) / wallS),
      stage_ms: stages,
      cpu_percent: {
        node: r1(nodePct),
        children: childPct === null ? null : r1(childPct),
        total: childPct === null ? null : r1(nodePct + childPct),
        machine_capacity: os.cpus().length * 100,
        children_count: withProc ? b.children.size : null,
      },
      peak_rss_mb: r1(peakRss / 1024 / 1024),
      peak_children_rss_mb: withProc ? r1(peakChildrenRss / 1024 / 1024) : null,
      startup_s: r1(startup),
      alert_latency_ms: dist(alerts.filter((x) => !x.alert.anomaly).map((x) => x.at - x.alert.capturedAt)),
      anomaly_latency_ms: dist(alerts.filter((x) => x.alert.anomaly).map((x) => x.at - x.alert.capturedAt)),
      alert_breakdown_ms: {
        privacy: pp(withRedaction.map((x) => (redactedAt.get(x.alert.frameId) ?? 0) - x.alert.capturedAt)),
        analytics: pp(withRedaction.map((x) => x.alert.firedAt - (redactedAt.get(x.alert.frameId) ?? 0))),
        to_socket: pp(alerts.map((x) => x.at - x.alert.firedAt)),
      },
      alerts: alerts.length,
    };
  } finally {
    if (rssTimer) clearInterval(rssTimer);
    socket?.close();
    await rt?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rampSteps = Math.max(opts.ramp.length, opts.cameras - 1);
  const budgetS = (6 + rampSteps) * (opts.warmupSeconds + 30) + opts.seconds + opts.overloadSeconds + opts.alertSeconds + rampSteps * opts.rampSeconds + 3 * opts.browserSeconds + 300;
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: no result after ${budgetS} s, giving up\n`);
    process.exit(2);
  }, budgetS * 1000);
  watchdog.unref();

  // Phase 1: the nominal load. Keep the newest opts.modelFrames raw frames for the baseline.
  const samples: Uint8Array[] = [];
  // One raw frame in 25 (2.5 s apart per camera at 10 fps × 4 cameras): varied moments, not one case repeated.
  let seen = 0;
  const steady = await runPhase('steady', opts.cameras, opts.seconds, (jpeg) => {
    if (seen++ % 25 !== 0) return;
    samples.push(jpeg);
    if (samples.length > opts.modelFrames) samples.shift();
  });
  if (samples.length === 0) throw new BenchError('no raw frame captured for the models-alone baseline');

  // Models alone, on the same frames, nothing else running (each model on its own, whole frames).
  const objectDetection = (process.env.PRIVACY_OBJECT_DETECTION ?? 'on') === 'on';
  const models = await measurePrivacyModels(samples, { face: {}, ...(objectDetection ? { objects: {} } : {}) });
  // CPU of an analysed frame as the pipeline runs it: the real cascade (objects, then faces in head
  // regions, plates in vehicles, whole-frame passes at their cadence), frame by frame, over every sampled
  // frame (4 cameras, varied moments), CPU of the whole process (worker threads included).
  const analysed = await measureAnalysedFrameCpu(samples, { analysisFps: opts.analysisFps, objectDetection });

  // Phase 2: overload. Offered load = factor × phase 1's offered load, by multiplying the cameras
  // (same fps and size). Relative to what phase 1 SUSTAINED (privacy throughput) it is reported too.
  let overload: (PhaseResult & { load_factor: number; load_vs_sustained: number }) | null = null;
  if (opts.overloadSeconds > 0) {
    const cams = Math.max(opts.cameras + 1, Math.round(opts.cameras * opts.overloadFactor));
    const o = await runPhase('overload', cams, opts.overloadSeconds);
    overload = {
      ...o,
      load_factor: r3(o.fps_in / steady.fps_in),
      load_vs_sustained: r3(o.fps_in / Math.max(steady.privacy_processed_fps, 1e-9)),
    };
  }

  // Phase 3: alerts. Real pedestrians on every camera and a standing query for people, at the nominal load.
  let alertPhase: PhaseResult | null = null;
  if (opts.alertSeconds > 0) {
    if (!existsSync(VTEST)) throw new BenchError(`${VTEST} is missing: apt-get install opencv-doc (the alert phase needs real pedestrians)`);
    alertPhase = await runPhase('alerts', opts.cameras, opts.alertSeconds, undefined, { source: VTEST, queries: [ALERT_QUERY, ANOMALY_QUERY] });
    if (alertPhase.alerts === 0) throw new BenchError(`alert phase: no alert in ${opts.alertSeconds} s`);
  }

  // The ramp: the most cameras sustained, each delivering ≥ 9 redacted fps with alerts at p99 < 1 s
  // (real pedestrians and the person query on every camera, as in the alert phase). From the nominal
  // count (judged by the alert phase, else the steady one) up through BENCH_RAMP until a count fails,
  // or, when the nominal count fails, down one camera at a time until one holds.
  const rampSource = existsSync(VTEST) ? VTEST : FOOTAGE;
  const sustains = (p: PhaseResult): boolean => (p.redacted_fps_per_camera.min ?? 0) >= 9 && (p.alert_latency_ms.p99 === null ? p.alerts === 0 && rampSource !== VTEST : p.alert_latency_ms.p99 < 1000);
  const ramp: { cameras: number; sustained: boolean; redacted_fps_per_camera: PhaseResult['redacted_fps_per_camera']; alert_latency_ms: PhaseResult['alert_latency_ms']; alerts: number; skipped_ratio: number; cpu_percent: number }[] = [];
  const rampStep = async (n: number): Promise<boolean> => {
    const p = await runPhase(`ramp-${n}`, n, opts.rampSeconds, undefined, { source: rampSource, queries: rampSource === VTEST ? [ALERT_QUERY] : [] });
    const ok = sustains(p);
    ramp.push({ cameras: n, sustained: ok, redacted_fps_per_camera: p.redacted_fps_per_camera, alert_latency_ms: p.alert_latency_ms, alerts: p.alerts, skipped_ratio: p.skipped_ratio, cpu_percent: p.cpu_percent.total ?? p.cpu_percent.node });
    return ok;
  };
  const nominal = alertPhase ?? steady;
  const nominalHolds = (nominal.redacted_fps_per_camera.min ?? 0) >= 9 && (alertPhase === null || (alertPhase.alert_latency_ms.p99 ?? Infinity) < 1000);
  let maxSustained = nominalHolds ? opts.cameras : 0;
  if (opts.rampSeconds > 0) {
    if (nominalHolds) {
      for (const n of opts.ramp.filter((x) => x > opts.cameras)) {
        if (!(await rampStep(n))) break;
        maxSustained = n;
      }
    } else {
      for (let n = opts.cameras - 1; n >= 1; n--) {
        if (await rampStep(n)) {
          maxSustained = n;
          break;
        }
      }
    }
  }

  // Phase 4: the wall in Chromium, JPEG then WebRTC.
  const browser = opts.browserSeconds > 0 ? await runBrowserPhase(opts.browserSeconds) : { wall: { skipped: 'BENCH_BROWSER_SECONDS=0' }, ingest: { skipped: 'BENCH_BROWSER_SECONDS=0' } };
  const browserWall = browser.wall;
  const wall = 'skipped' in browserWall ? null : browserWall;
  const webrtcIngest = 'skipped' in browser.ingest ? null : browser.ingest;

  const p50 = steady.ingest_to_wall_ms.p50;
  const p99 = steady.ingest_to_wall_ms.p99;
  // An uploaded video processed with every redaction on, nothing else running.
  const { measureUpload } = await import('./upload');
  let upload: Awaited<ReturnType<typeof measureUpload>> | { error: string } | null = null;
  if (process.env.BENCH_UPLOAD !== 'off') {
    const dataDir = await mkdtemp(join(os.tmpdir(), 'ct-bench-upload-rt-'));
    const rt = await Runtime.start({ env: benchEnv(dataDir, { RECORDING: 'on' }), config: validateStreamsConfig({ cameras: [] }) });
    try {
      upload = await measureUpload(rt, VTEST, Number(process.env.BENCH_UPLOAD_SECONDS ?? 60));
    } catch (e) {
      upload = { error: e instanceof Error ? e.message : String(e) };
    } finally {
      await rt.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  // Re-identification on the two-camera split of vtest.avi (uploaded, through privacy, tracking and the re-ID stage).
  let reid: ReidSplitFigures | { error: string } | null = null;
  if (process.env.BENCH_REID !== 'off') {
    const dataDir = await mkdtemp(join(os.tmpdir(), 'ct-bench-reid-rt-'));
    const rt = await Runtime.start({ env: benchEnv(dataDir, { RECORDING: 'off', UPLOAD_FPS: '5' }), config: validateStreamsConfig({ cameras: [] }) });
    try {
      reid = await measureReidSplit(rt);
    } catch (e) {
      reid = { error: e instanceof Error ? e.message : String(e) };
    } finally {
      await rt.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  // Vector search at 100 000 keyframe embeddings (embedded index).
  const { measureVectorSearch } = await import('./vector');
  const vector = process.env.BENCH_VECTOR === 'off' ? null : await measureVectorSearch();

  // Search over a generated week holding 1 000 000 detections, on PGlite and PostgreSQL.
  const { measureSearch } = await import('./search');
  const search = process.env.BENCH_SEARCH === 'off' ? null : await measureSearch(parseEnv({ DATABASE_URL: process.env.DATABASE_URL }).DATABASE_URL, Number(process.env.BENCH_SEARCH_DETECTIONS ?? 1_000_000));

  // Standing-query matching alone (issue 3's figure): imported late, after the log level is set.
  const { measureMatcher } = await import('./matcher');
  const matcher = measureMatcher();
  // The whole rule engine (issue 9): described queries and anomaly rules, 10 000 distinct on one camera.
  const { measureRules } = await import('./rules');
  const rules = measureRules();
  const cpus = os.cpus();
  const result = {
    bench: 'chronotrace.pipeline',
    at: new Date().toISOString(),
    hardware: { cpu_model: cpus[0]?.model ?? 'unknown', cores: cpus.length, total_mem_gb: r1(os.totalmem() / 1024 ** 3), node: process.version },
    face_model: FACE_MODEL,
    privacy_replicas: Number(opts.replicas),
    cameras: steady.cameras,
    camera: { source: FOOTAGE, fps: opts.fps, analysis_fps: opts.analysisFps, width: opts.width },
    redacted_fps_per_camera: steady.redacted_fps_per_camera,
    analysed_frame_cpu_ms: analysed.cpuMs,
    analysed_frame: analysed,
    max_cameras_sustained: maxSustained,
    max_cameras_sustained_how: `the most cameras whose every camera delivered ≥ 9 redacted fps with alert p99 < 1 s: the nominal ${opts.cameras} judged by the ${alertPhase ? 'alert' : 'steady'} phase (${nominalHolds ? 'held' : 'failed'}), then ${opts.rampSeconds > 0 ? `${opts.rampSeconds} s steps of ${rampSource} with the "${ALERT_QUERY}" query ${nominalHolds ? `up through ${opts.ramp.filter((x) => x > opts.cameras).join(', ') || 'none'} until one failed` : 'down one camera at a time until one held'}` : 'no ramp (BENCH_RAMP_SECONDS=0)'}`,
    ramp,
    glass_to_wall_ms: wall ? wall.glass_to_wall_ms : null,
    encode_cpu_percent_per_camera: wall ? wall.encode_cpu_percent_per_camera : null,
    vector_search_ms: vector ? { p50: vector.p50, p95: vector.p95 } : null,
    vector_search: vector,
    upload_speed_x_realtime: upload && !('error' in upload) ? upload.upload_speed_x_realtime : null,
    upload,
    recording_cpu_percent_per_camera: steady.recording.cpu_percent_per_camera,
    recording: { ...steady.recording, how: `the ${steady.cameras} cameras of the steady phase recording their redacted frames (libx264 ultrafast, crf 28, 2 s HLS fMP4 segments): the recorders' ffmpeg CPU over the measured window from /proc, per recording camera; MB written per hour per camera from the segment index` },
    search_ms: search ? { pglite: { p50: search.pglite.p50, p95: search.pglite.p95 }, postgres: 'error' in search.postgres ? search.postgres : { p50: search.postgres.p50, p95: search.postgres.p95 } } : null,
    search: search && { ...search, how: `the whole SearchService call (time phrases, compiler, SQL over per-track summaries, thumbnail and recording look-ups) for ${16} varied texts and their second pages, 6 rounds after a warm-up, over a generated week of 16 cameras whose tracks hold 1 000 000 detections in all (one summary row per track, as the scene stage stores them); PGlite file-backed as in embedded mode, PostgreSQL in a fresh schema` },
    browser_wall: wall
      ? {
          how: `${opts.cameras} cameras of ${FOOTAGE} at ${opts.fps} fps in one headless Chromium (1600×1000): ${wall.seconds} s with WebRTC refused (JPEG tiles), then ${wall.seconds} s of WHEP video; glass_to_wall = shown − captured at ingest (JPEG: next animation frame after the tile's image loaded; WebRTC: requestVideoFrameCallback's expected display time, paired by RTP timestamp with the capture time the encoder remembered); encode CPU = the encoders' ffmpeg over the WebRTC window`,
          webrtc_fps_per_camera: wall.webrtc_fps_per_camera,
          jpeg_fps_per_camera: wall.jpeg_fps_per_camera,
        }
      : browserWall,
    webrtc_ingest_ms: webrtcIngest ? { p50: webrtcIngest.p50, p99: webrtcIngest.p99 } : null,
    webrtc_ingest: webrtcIngest ?? browser.ingest,
    duration_s: steady.duration_s,
    warmup_discarded_s: opts.warmupSeconds,
    ingest_to_wall_ms: steady.ingest_to_wall_ms,
    ingest_to_wall_p50_by_third_ms: steady.ingest_to_wall_p50_by_third_ms,
    latency_breakdown_ms: steady.latency_breakdown_ms,
    fps_in: steady.fps_in,
    fps_out: steady.fps_out,
    privacy_processed_fps: steady.privacy_processed_fps,
    skipped_ratio: steady.skipped_ratio,
    motion_skipped_ratio: steady.motion_skipped_ratio,
    object_detection: process.env.PRIVACY_OBJECT_DETECTION ?? 'on',
    detector_ms: { p50: steady.stage_ms.objects.p50, p99: steady.stage_ms.objects.p99 },
    redaction_failures: steady.redaction_failures,
    dropped_backpressure: steady.dropped_backpressure,
    stage_ms: steady.stage_ms,
    stage_ms_note: 'PrivacyCore latency windows (last 512 frames per replica, whole phase incl. warm-up; worst replica if several); latency_breakdown_ms.privacy is post-warm-up, per delivered frame',
    models_alone: {
      frames: samples.length,
      face: models.face,
      text: models.text,
      objects: models.objects ?? null,
      how: 'each model alone, whole frames (face: whole frame + 2×2 tiles; no cascade), one after another in this process, on raw frames captured in phase 1: wall ms per frame',
    },
    cpu_percent: steady.cpu_percent.total ?? steady.cpu_percent.node,
    cpu_percent_detail: { ...steady.cpu_percent, unit: '% of one core over the measured window; children = ffmpeg (from /proc), node includes worker threads' },
    peak_rss_mb: steady.peak_rss_mb,
    peak_children_rss_mb: steady.peak_children_rss_mb,
    startup_s: steady.startup_s,
    overload: overload && {
      load_factor: overload.load_factor,
      load_vs_sustained: overload.load_vs_sustained,
      how: `cameras × ${r3(overload.cameras / steady.cameras)} (${steady.cameras} → ${overload.cameras}) at the same fps and width; load_factor = overload fps_in / phase-1 fps_in; load_vs_sustained = overload fps_in / phase-1 privacy_processed_fps`,
      cameras: overload.cameras,
      duration_s: overload.duration_s,
      ingest_to_wall_ms: overload.ingest_to_wall_ms,
      ingest_to_wall_p50_by_third_ms: overload.ingest_to_wall_p50_by_third_ms,
      latency_breakdown_ms: overload.latency_breakdown_ms,
      skipped_ratio: overload.skipped_ratio,
      motion_skipped_ratio: overload.motion_skipped_ratio,
      fps_in: overload.fps_in,
      fps_out: overload.fps_out,
      redacted_fps_per_camera: overload.redacted_fps_per_camera,
      privacy_processed_fps: overload.privacy_processed_fps,
      redaction_failures: overload.redaction_failures,
      dropped_backpressure: overload.dropped_backpressure,
      stage_ms: overload.stage_ms,
      cpu_percent: overload.cpu_percent.total ?? overload.cpu_percent.node,
      cpu_percent_detail: overload.cpu_percent,
      peak_rss_mb: overload.peak_rss_mb,
    },
    alert_latency_ms: alertPhase ? { p50: alertPhase.alert_latency_ms.p50, p99: alertPhase.alert_latency_ms.p99 } : null,
    anomaly_latency_ms: alertPhase ? { p50: alertPhase.anomaly_latency_ms.p50, p99: alertPhase.anomaly_latency_ms.p99, alerts: alertPhase.anomaly_latency_ms.count } : null,
    alert_phase: alertPhase && {
      how: `${alertPhase.cameras} cameras looping ${VTEST} (real pedestrians) at ${opts.fps} fps (analysis ${opts.analysisFps} fps), ${opts.width} px; query "${ALERT_QUERY}" armed on all, no cooldown (every new person track alerts once), and the anomaly rule "${ANOMALY_QUERY}" (a line down the middle of each camera); alert_latency_ms (the query's alerts) and anomaly_latency_ms (the rule's: the frame whose crossing made the condition true) = Socket.io client receive time − capture time of the frame that fired`,
      duration_s: alertPhase.duration_s,
      alerts: alertPhase.alerts,
      alert_latency_ms: alertPhase.alert_latency_ms,
      alert_breakdown_ms: alertPhase.alert_breakdown_ms,
      ingest_to_wall_ms: alertPhase.ingest_to_wall_ms,
      fps_in: alertPhase.fps_in,
      fps_out: alertPhase.fps_out,
      skipped_ratio: alertPhase.skipped_ratio,
      motion_skipped_ratio: alertPhase.motion_skipped_ratio,
      detector_ms: { p50: alertPhase.stage_ms.objects.p50, p99: alertPhase.stage_ms.objects.p99 },
      cpu_percent: alertPhase.cpu_percent.total ?? alertPhase.cpu_percent.node,
      peak_rss_mb: alertPhase.peak_rss_mb,
    },
    ...matcher,
    ...rules,
    reid: reid && ('error' in reid ? reid : { precision: reid.precision, recall: reid.recall, links: reid.links }),
    reid_detail: reid && !('error' in reid) ? { correct: reid.correct, linkable: reid.linkable, tracks: reid.tracks, how: reid.how } : null,
    targets: { ...TARGETS, matcher_ms_per_frame_10000: 2, rules_ms_per_frame_10000: 2, anomaly_latency_p50_ms: 500, reid_precision: 0.9, reid_recall: 0.6 },
    meets_targets: {
      alert_p50_ms: alertPhase !== null && alertPhase.alert_latency_ms.p50 !== null && alertPhase.alert_latency_ms.p50 < TARGETS.alert_p50_ms,
      alert_p99_ms: alertPhase !== null && alertPhase.alert_latency_ms.p99 !== null && alertPhase.alert_latency_ms.p99 < TARGETS.alert_p99_ms,
      matcher_ms_per_frame_10000: matcher.matcher_ms_per_frame['10000'] < 2,
      rules_ms_per_frame_10000: rules.rules_ms_per_frame['10000'] < 2,
      anomaly_latency_p50_ms: alertPhase !== null && alertPhase.anomaly_latency_ms.p50 !== null && alertPhase.anomaly_latency_ms.p50 < 500,
      reid_precision_at_recall: reid !== null && !('error' in reid) && reid.precision >= 0.9 && reid.recall >= 0.6,
      vector_search_p95_ms: vector !== null && vector.p95 < TARGETS.vector_search_p95_ms,
      upload_speed_x_realtime: upload !== null && !('error' in upload) && upload.upload_speed_x_realtime >= TARGETS.upload_speed_x_realtime,
      search_p95_ms: search !== null && search.pglite.p95 < TARGETS.search_p95_ms && !('error' in search.postgres) && search.postgres.p95 < TARGETS.search_p95_ms,
      recording_cpu_percent_per_camera: steady.recording.cpu_percent_per_camera !== null && steady.recording.cpu_percent_per_camera < TARGETS.recording_cpu_percent_per_camera,
      ingest_to_wall_p50_ms: p50 !== null && p50 <= TARGETS.ingest_to_wall_p50_ms,
      ingest_to_wall_p99_ms: p99 !== null && p99 <= TARGETS.ingest_to_wall_p99_ms,
      redacted_fps_per_camera_min: (steady.redacted_fps_per_camera.min ?? 0) >= TARGETS.redacted_fps_per_camera_min,
      analysed_frame_cpu_ms_p50: analysed.cpuMs.p50 !== null && analysed.cpuMs.p50 <= TARGETS.analysed_frame_cpu_ms_p50,
      max_cameras_sustained: maxSustained >= TARGETS.max_cameras_sustained,
      glass_to_wall_webrtc_p50_ms: wall !== null && wall.glass_to_wall_ms.webrtc.p50 !== null && wall.glass_to_wall_ms.webrtc.p50 < TARGETS.glass_to_wall_webrtc_p50_ms,
    },
  };
  clearTimeout(watchdog);
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch(fail);
