import sharp from 'sharp';
import { ObjectDetector, type ObjectDetectorOptions } from '../detect/object-detector';
import { FaceDetector, type FaceDetectorOptions } from './face-detector';
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
