import sharp from 'sharp';
import { RgbImageError } from './errors';

/** An 8-bit, 3-channel (R, G, B) image, row-major, `data.length === width * height * 3`. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Throws when the buffer does not match the declared size: a caller bug, not a frame outcome. */
export function assertRgbImage(image: RgbImage): void {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RgbImageError(`RGB image size must be positive integers, got ${width}×${height}`);
  }
  if (data.length !== width * height * 3) {
    throw new RgbImageError(`RGB image ${width}×${height} needs ${width * height * 3} bytes, got ${data.length}`);
  }
}

/**
 * Decodes a JPEG (or any image sharp reads) into raw RGB at its stored size, so boxes in frame
 * pixels index it directly. The only I/O-ish part of colour naming; the namer itself is pure.
 */
export async function decodeRgb(jpeg: Uint8Array): Promise<RgbImage> {
  const { data, info } = await sharp(jpeg).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new RgbImageError(`expected 3 channels after removeAlpha(), got ${info.channels}`);
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}
