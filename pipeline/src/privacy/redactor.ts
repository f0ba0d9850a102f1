import sharp from 'sharp';
import type { Box } from '@chronotrace/contracts';
import { clampToFrame, growBox, type PixelRect } from './box-geometry';

export type RedactionMethod = 'pixelate' | 'blur';

/** Smallest pixelation block, px: the region is shrunk by at least this factor and scaled back with nearest neighbour. */
export const DEFAULT_PIXELATE_FACTOR = 8;
/** A pixelated region is at most this many blocks across its short side, whatever its size. */
export const MAX_BLOCKS_ACROSS = 4;
/** JPEG quality of redacted frames. */
export const DEFAULT_REDACTED_JPEG_QUALITY = 80;

export interface RedactorOptions {
  /** Default DEFAULT_PIXELATE_FACTOR (12). */
  pixelateFactor?: number;
  /** Default DEFAULT_REDACTED_JPEG_QUALITY (80). */
  jpegQuality?: number;
}

export interface RedactInput {
  jpeg: Uint8Array;
  width: number;
  height: number;
  boxes: Box[];
  method: RedactionMethod;
  /** Grow every box by this fraction of its size on each side. */
  margin: number;
}

export interface RedactOutput {
  jpeg: Buffer;
  /** The pixel rectangles actually hidden (grown, clamped). */
  regions: PixelRect[];
}

/** Grown and clamped pixel rectangles for a set of boxes (boxes fully outside the frame are dropped). */
export function redactionRegions(boxes: Box[], margin: number, width: number, height: number): PixelRect[] {
  const out: PixelRect[] = [];
  for (const b of boxes) {
    const r = clampToFrame(growBox(b, margin), width, height);
    if (r) out.push(r);
  }
  return out;
}

/**
 * Hides regions of a JPEG frame with sharp: pixelate (shrink ×1/factor, nearest upscale: irreversible,
 * unlike a light blur) or blur (sigma grows with the region so a big face is as unreadable as a small
 * one). Always re-encodes, so a frame with nothing to hide also leaves without its EXIF/metadata.
 */
export class Redactor {
  private readonly factor: number;
  private readonly quality: number;

  constructor(options: RedactorOptions = {}) {
    this.factor = options.pixelateFactor ?? DEFAULT_PIXELATE_FACTOR;
    this.quality = options.jpegQuality ?? DEFAULT_REDACTED_JPEG_QUALITY;
    if (!(this.factor >= 2)) throw new RangeError(`pixelateFactor must be ≥ 2, got ${this.factor}`);
  }

  async redact(input: RedactInput): Promise<RedactOutput> {
    const { data, info } = await sharp(input.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const regions = redactionRegions(input.boxes, input.margin, info.width, info.height);
    const raw = { width: info.width, height: info.height, channels: 3 as const };
    const overlays = await Promise.all(
      regions.map(async (r): Promise<sharp.OverlayOptions> => ({
        input: await this.patch(data, raw, r, input.method),
        raw: { width: r.width, height: r.height, channels: 3 },
        left: r.left,
        top: r.top,
      })),
    );
    const jpeg = await sharp(data, { raw })
      .composite(overlays)
      .jpeg({ quality: this.quality, mozjpeg: false })
      .toBuffer();
    return { jpeg, regions };
  }

  private async patch(frame: Buffer, raw: { width: number; height: number; channels: 3 }, r: PixelRect, method: RedactionMethod): Promise<Buffer> {
    const region = sharp(frame, { raw }).extract(r);
    if (method === 'blur') {
      // sigma ≈ 1/6 of the short side, at least 4: features of any size are gone.
      const sigma = Math.max(4, Math.min(r.width, r.height) / 6);
      return region.blur(sigma).raw().toBuffer();
    }
    // Blocks scale with the region: at most MAX_BLOCKS_ACROSS across its short side (a face a few blocks
    // across is unrecognisable to people and to face detectors), never finer than `factor` px.
    const short = Math.min(r.width, r.height);
    const block = Math.max(this.factor, short / MAX_BLOCKS_ACROSS);
    const w = Math.max(1, Math.round(r.width / block));
    const h = Math.max(1, Math.round(r.height / block));
    const small = await region.resize(w, h, { fit: 'fill', kernel: 'cubic' }).raw().toBuffer();
    return sharp(small, { raw: { width: w, height: h, channels: 3 } }).resize(r.width, r.height, { fit: 'fill', kernel: 'nearest' }).raw().toBuffer();
  }
}
