import sharp from 'sharp';
import type { PrivacySettings } from '@chronotrace/contracts';
import { ObjectDetector, type ObjectDetectorOptions } from '../detect/object-detector';
import { FaceDetector, type FaceDetectorOptions } from './face-detector';
import { PerceptionMemory } from './perception-memory';
import { PrivacyCore } from './privacy-core';
import type { PrivacyDetector } from './privacy-detector';
import { TextRegionDetector, type TextRegionDetectorOptions } from './text-region-detector';

export interface ModelTiming {
  model: string;
  frames: number;
  msPerFrame: { mean: number; p50: number; p99: number };
  framesPerSecond: number;
}

export interface MeasurePrivacyModelsOptions {
  face?: FaceDetectorOptions;
  text?: TextRegionDetectorOptions;
  /** Also time the object detector (person detection in the boundary). Default: not timed. */
  objects?: ObjectDetectorOptions;
  /** Untimed warm-up passes first (JIT, wasm, ORT arena). Default 2. */
  warmup?: number;
  /** Passes over the frames. Default 1. */
  rounds?: number;
}

/**
 * Times the privacy models alone, in this process, frame after frame (no bus, no redaction), so a
 * benchmark can compare the pipeline's throughput with what the models can do. Loads and closes its
 * own detectors. Face time includes the JPEG decode in the worker; text time includes resize and post-processing.
 */
export async function measurePrivacyModels(jpegs: Uint8Array[], options: MeasurePrivacyModelsOptions = {}): Promise<{ face: ModelTiming; text: ModelTiming; objects?: ModelTiming }> {
  if (jpegs.length === 0) throw new RangeError('measurePrivacyModels needs at least one frame');
  const sizes = await Promise.all(
    jpegs.map(async (j) => {
      const m = await sharp(j).metadata();
      return { width: m.width ?? 0, height: m.height ?? 0 };
    }),
  );
  const run = async (d: PrivacyDetector): Promise<ModelTiming> => {
    try {
      await d.start();
      for (let i = 0; i < (options.warmup ?? 2); i++) await d.detect(jpegs[i % jpegs.length] as Uint8Array, sizes[i % jpegs.length] as { width: number; height: number });
      const ms: number[] = [];
      const t0 = performance.now();
      for (let r = 0; r < (options.rounds ?? 1); r++) {
        for (let i = 0; i < jpegs.length; i++) {
          const t = performance.now();
          await d.detect(jpegs[i] as Uint8Array, sizes[i] as { width: number; height: number });
          ms.push(performance.now() - t);
        }
      }
      const total = performance.now() - t0;
      ms.sort((a, b) => a - b);
      const at = (p: number): number => ms[Math.min(ms.length - 1, Math.ceil((p / 100) * ms.length) - 1)] as number;
      const r1 = (v: number): number => Math.round(v * 10) / 10;
      return {
        model: d.models.map((m) => `${m.name}@${m.version}`).join(', '),
        frames: ms.length,
        msPerFrame: { mean: r1(total / ms.length), p50: r1(at(50)), p99: r1(at(99)) },
        framesPerSecond: r1((ms.length * 1000) / total),
      };
    } finally {
      await d.close();
    }
  };
  // One after the other: each alone, as the benchmark's baseline.
  const face = await run(new FaceDetector(options.face));
  const text = await run(new TextRegionDetector(options.text));
  if (!options.objects) return { face, text };
  const detector = new ObjectDetector(options.objects);
  const objects = await run({
    name: 'objects',
    get models() {
      return detector.models;
    },
    start: () => detector.start(),
    detect: async (jpeg) => {
      const r = await detector.detect(jpeg);
      return { boxes: r.boxes, ms: r.ms };
    },
    close: () => detector.close(),
  });
  return { face, text, objects };
}

export interface AnalysedFrameCpu {
  /** Frames measured (analysed: the object detector ran on each). */
  frames: number;
  /** CPU of the whole process (every thread: model workers, sharp, the event loop) per analysed frame. */
  cpuMs: { p50: number | null; p99: number | null; mean: number | null };
  /** Wall time of each frame's redaction. */
  wallMs: { p50: number | null; p99: number | null };
  how: string;
}

/**
 * CPU per analysed frame as the privacy stage spends it: a real PrivacyCore (object detector, then the
 * face detector on head regions and unexplained motion, the text detector on vehicles, whole-frame passes
 * at their cadence per camera) redacts the frames one at a time; each frame's process CPU (all threads)
 * is read around it. Frames are given to `cameras` cameras in turn, each camera's frames `1000 /
 * analysisFps` ms apart, so the cadences are those of a live camera. Frames the motion gate calls still
 * (nothing to analyse) are not counted.
 */
export async function measureAnalysedFrameCpu(
  jpegs: Uint8Array[],
  options: { analysisFps: number; objectDetection: boolean; cameras?: number; settings?: PrivacySettings },
): Promise<AnalysedFrameCpu> {
  if (jpegs.length === 0) throw new RangeError('measureAnalysedFrameCpu needs at least one frame');
  const cameras = options.cameras ?? 4;
  const step = 1000 / options.analysisFps;
  const settings = options.settings ?? { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };
  const core = new PrivacyCore({
    face: new FaceDetector(),
    text: new TextRegionDetector(),
    ...(options.objectDetection ? { objects: new ObjectDetector(), memory: new PerceptionMemory({ forceEveryMs: Infinity }) } : {}),
    analysisIntervalMs: 0,
  });
  const cpu: number[] = [];
  const wall: number[] = [];
  try {
    await core.start();
    const t0 = 1_000_000_000;
    for (let i = -2; i < jpegs.length; i++) {
      const jpeg = jpegs[(i + jpegs.length) % jpegs.length] as Uint8Array;
      const k = i + 2;
      const camera = `measure-${k % cameras}`;
      const size = await sharp(jpeg).metadata();
      const meta = { camera, frameId: `${camera}:1:${k}`, seq: k, capturedAt: t0 + Math.floor(k / cameras) * step, width: size.width ?? 0, height: size.height ?? 0 };
      const u0 = process.cpuUsage();
      const w0 = performance.now();
      const r = await core.process({ meta, jpeg }, settings);
      const w = performance.now() - w0;
      const u = process.cpuUsage(u0);
      if (!r.ok) throw new Error(`frame ${k} was not redacted: ${r.reason} (${r.detail})`);
      // The first two are warm-up (one per model path); still frames ran no detector.
      if (i < 0 || (options.objectDetection && !r.meta.redaction.motion.ran)) continue;
      cpu.push((u.user + u.system) / 1000);
      wall.push(w);
    }
  } finally {
    await core.close();
  }
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const at = (xs: number[], p: number): number | null => (xs.length === 0 ? null : Math.round((xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)] as number) * 10) / 10);
  const c = sorted(cpu);
  const w = sorted(wall);
  return {
    frames: c.length,
    cpuMs: { p50: at(c, 50), p99: at(c, 99), mean: c.length ? Math.round((c.reduce((a, b) => a + b, 0) / c.length) * 10) / 10 : null },
    wallMs: { p50: at(w, 50), p99: at(w, 99) },
    how: `PrivacyCore with every detector, one frame at a time over ${jpegs.length} frames given to ${cameras} cameras in turn (${Math.round(step)} ms apart per camera: analysis at ${options.analysisFps} fps), process CPU (all threads) per frame; still frames (no detector run) not counted`,
  };
}
