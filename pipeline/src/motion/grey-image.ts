import sharp from 'sharp';
import { GreyImageError } from './errors';

/** An 8-bit single-channel image, row-major, `data.length === width * height`. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
  /**
   * Size of the frame this image was scaled from, so motion regions can be reported in frame
   * pixels. Defaults to the image's own size.
   */
  sourceWidth?: number;
  sourceHeight?: number;
}

/** Default width of the small grey image the motion gate works on (Frigate uses a similar size). */
export const DEFAULT_MOTION_WIDTH = 96;

/** Throws when the buffer does not match the declared size: a caller bug, not a frame outcome. */
export function assertGreyImage(image: GreyImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new GreyImageError(`grey image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height) {
    throw new GreyImageError(`grey image ${width}×${height} needs ${width * height} bytes, got ${data.length}`);
  }
}

/**
 * Decodes a JPEG (or any image sharp reads) into a small greyscale image `width` pixels wide,
 * keeping the aspect ratio. This is the only I/O-ish part of motion gating; the gate itself is pure.
 */
export async function toGreySmall(jpeg: Uint8Array, width = DEFAULT_MOTION_WIDTH): Promise<GreyImage> {
  const image = sharp(jpeg);
  const meta = await image.metadata();
  const { data, info } = await image
    .resize({ width, kernel: 'linear' })
    .greyscale()
    .raw()
    .toBuffer({ resolveWithObject: true });
  // greyscale() on an image with alpha still yields 2 channels: keep the first.
  const grey = info.channels === 1 ? new Uint8Array(data.buffer, data.byteOffset, data.length) : takeFirstChannel(data, info.channels);
  return {
    width: info.width,
    height: info.height,
    data: grey,
    // Regions are reported in the pixels of the frame as stored (no EXIF rotation: camera frames have none).
    sourceWidth: meta.width,
    sourceHeight: meta.height,
  };
}

/**
 * The same small grey image from a frame already decoded to interleaved RGB (area average of each
 * cell, BT.601 luma): the privacy stage decodes each frame once and gates and redacts that decode.
 */
export function greySmallFromRgb(rgb: { data: Uint8Array; width: number; height: number }, width = DEFAULT_MOTION_WIDTH): GreyImage {
  const { data, width: W, height: H } = rgb;
  if (data.length !== W * H * 3) throw new GreyImageError(`RGB frame ${W}×${H} needs ${W * H * 3} bytes, got ${data.length}`);
  const w = Math.max(1, Math.min(width, W));
  const h = Math.max(1, Math.round((H * w) / W));
  // Runs on every frame of every camera: integer luma (BT.601 weights × 1000) summed per cell, with
  // each source column's cell computed once per call, not per pixel. Cells at least 4 source pixels
  // across and high (a 640-px frame gives 6.7) average every other pixel of every other row: still 10+
  // samples a cell, at a quarter of the reads.
  const step = W / w >= 4 && H / h >= 4 ? 2 : 1;
  const cellOfColumn = new Int32Array(W);
  for (let x = 0; x < W; x++) cellOfColumn[x] = Math.min(w - 1, Math.floor((x * w) / W));
  const sum = new Float64Array(w * h);
  const count = new Uint32Array(w * h);
  for (let y = 0; y < H; y += step) {
    const row = Math.min(h - 1, Math.floor((y * h) / H)) * w;
    for (let x = 0, i = y * W * 3; x < W; x += step, i += 3 * step) {
      const cell = row + (cellOfColumn[x] as number);
      sum[cell] = (sum[cell] as number) + 299 * (data[i] as number) + 587 * (data[i + 1] as number) + 114 * (data[i + 2] as number);
      count[cell] = (count[cell] as number) + 1;
    }
  }
  const grey = new Uint8Array(w * h);
  for (let k = 0; k < grey.length; k++) grey[k] = Math.round((sum[k] as number) / (1000 * Math.max(1, count[k] as number)));
  return { width: w, height: h, data: grey, sourceWidth: W, sourceHeight: H };
}

function takeFirstChannel(data: Uint8Array, channels: number): Uint8Array {
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels] ?? 0;
  return out;
}

/**
 * 3×3 box blur (edges clamped) into a float buffer: removes sensor noise and JPEG block artefacts
 * before differencing, at the cost of two passes over ~5,000 pixels.
 */
export function boxBlur3(image: GreyImage): Float32Array {
  const { width: w, height: h, data } = image;
  const horiz = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const l = data[row + Math.max(0, x - 1)] ?? 0;
      const c = data[row + x] ?? 0;
      const r = data[row + Math.min(w - 1, x + 1)] ?? 0;
      horiz[row + x] = l + c + r;
    }
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const up = Math.max(0, y - 1) * w;
    const row = y * w;
    const down = Math.min(h - 1, y + 1) * w;
    for (let x = 0; x < w; x++) {
      out[row + x] = ((horiz[up + x] ?? 0) + (horiz[row + x] ?? 0) + (horiz[down + x] ?? 0)) / 9;
    }
  }
  return out;
}
