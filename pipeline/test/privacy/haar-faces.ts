/**
 * A second, independent face detector for tests: OpenCV's Haar cascade (Viola–Jones,
 * haarcascade_frontalface_default.xml from Debian's opencv-doc) run by OpenCV itself compiled to
 * WebAssembly (@techstark/opencv-js, a dev dependency). It shares nothing with the BlazeFace models
 * that place the redaction regions, so a face it finds in a redacted frame is a redaction too weak.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { Box } from '@chronotrace/contracts';

export const HAAR_FRONTAL_FACE = '/usr/share/doc/opencv-doc/opencv4/html/haarcascade_frontalface_default.xml.gz';

interface CvRect {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface CvMat {
  data: Uint8Array;
  delete(): void;
}
interface CvRectVector {
  size(): number;
  get(i: number): CvRect;
  delete(): void;
}
interface CvCascade {
  load(path: string): boolean;
  detectMultiScale(image: CvMat, objects: CvRectVector, scaleFactor: number, minNeighbors: number, flags: number, minSize: unknown, maxSize: unknown): void;
  delete(): void;
}
/** The part of opencv.js these tests use. */
interface Cv {
  Mat?: new (rows: number, cols: number, type: number) => CvMat;
  CV_8UC1: number;
  CascadeClassifier: new () => CvCascade;
  RectVector: new () => CvRectVector;
  Size: new (width: number, height: number) => unknown;
  FS_createDataFile(parent: string, name: string, data: Uint8Array, canRead: boolean, canWrite: boolean, canOwn: boolean): void;
  onRuntimeInitialized?: () => void;
}

export interface HaarOptions {
  /** Smallest face looked for, px (the cascade's window is 24). Default 20. */
  minSize?: number;
  /** Default 1.05 (fine scale steps: the detector at its most sensitive). */
  scaleFactor?: number;
  /** Overlapping hits needed for a face. Default 3 (OpenCV's default). */
  minNeighbors?: number;
}

export interface HaarFaceDetector {
  detect(jpeg: Uint8Array, options?: HaarOptions): Promise<Box[]>;
}

let loading: Promise<HaarFaceDetector> | undefined;

/** Loads opencv.js and the cascade once per test file. */
export function haarFaceDetector(): Promise<HaarFaceDetector> {
  loading ??= (async () => {
    const cv = createRequire(import.meta.url)('@techstark/opencv-js') as Cv;
    if (!cv.Mat) await new Promise<void>((resolve) => (cv.onRuntimeInitialized = resolve));
    const Mat = cv.Mat;
    if (!Mat) throw new Error('opencv.js did not initialise');
    cv.FS_createDataFile('/', 'frontalface.xml', gunzipSync(readFileSync(HAAR_FRONTAL_FACE)), true, false, false);
    const cascade = new cv.CascadeClassifier();
    if (!cascade.load('frontalface.xml')) throw new Error(`OpenCV could not load ${HAAR_FRONTAL_FACE}`);
    return {
      async detect(jpeg: Uint8Array, o: HaarOptions = {}): Promise<Box[]> {
        const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
        const image = new Mat(info.height, info.width, cv.CV_8UC1);
        const found = new cv.RectVector();
        try {
          image.data.set(data.subarray(0, info.width * info.height));
          const min = o.minSize ?? 20;
          cascade.detectMultiScale(image, found, o.scaleFactor ?? 1.05, o.minNeighbors ?? 3, 0, new cv.Size(min, min), new cv.Size(0, 0));
          const boxes: Box[] = [];
          for (let i = 0; i < found.size(); i++) {
            const r = found.get(i);
            boxes.push({ x: r.x, y: r.y, w: r.width, h: r.height });
          }
          return boxes;
        } finally {
          image.delete();
          found.delete();
        }
      },
    };
  })();
  return loading;
}
