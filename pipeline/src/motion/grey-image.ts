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
  const sum = new Float64Array(w * h);
  const count = new Uint32Array(w * h);
  for (let y = 0; y < H; y++) {
    const row = Math.min(h - 1, Math.floor((y * h) / H)) * w;
    for (let x = 0, i = y * W * 3; x < W; x++, i += 3) {
      const cell = row + Math.min(w - 1, Math.floor((x * w) / W));
      sum[cell] = (sum[cell] as number) + 0.299 * (data[i] as number) + 0.587 * (data[i + 1] as number) + 0.114 * (data[i + 2] as number);
      count[cell] = (count[cell] as number) + 1;
    }
  }
  const grey = new Uint8Array(w * h);
  for (let i = 0; i < grey.length; i++) grey[i] = Math.round((sum[i] as number) / Math.max(1, count[i] as number));
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
