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
  /** Smallest block, px. Default DEFAULT_PIXELATE_FACTOR (8). */
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
  /** The frame already decoded (interleaved RGB, `width × height × 3`): not decoded again. It is redacted in place. */
  rgb?: Buffer;
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
 * Hides regions of a JPEG frame: pixelate (each block replaced by its mean colour: irreversible, unlike
 * a light blur; done in place on one decode) or blur (sigma grows with the region so a big face is as unreadable as a small
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
    const { data, info } =
      input.rgb && input.rgb.length === input.width * input.height * 3
        ? { data: input.rgb, info: { width: input.width, height: input.height } }
        : await sharp(input.jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const regions = redactionRegions(input.boxes, input.margin, info.width, info.height);
    const raw = { width: info.width, height: info.height, channels: 3 as const };
    if (input.method === 'pixelate') {
      // In place, on the one decoded frame: a frame with 20 regions costs one decode and one encode.
      for (const r of regions) this.pixelate(data, info.width, r);
      return { jpeg: await sharp(data, { raw }).jpeg({ quality: this.quality, mozjpeg: false }).toBuffer(), regions };
    }
    const overlays = await Promise.all(
      regions.map(async (r): Promise<sharp.OverlayOptions> => ({
        // sigma ≈ 1/6 of the short side, at least 4: features of any size are gone.
        input: await sharp(data, { raw }).extract(r).blur(Math.max(4, Math.min(r.width, r.height) / 6)).raw().toBuffer(),
        raw: { width: r.width, height: r.height, channels: 3 },
        left: r.left,
        top: r.top,
      })),
    );
    const jpeg = await sharp(data, { raw }).composite(overlays).jpeg({ quality: this.quality, mozjpeg: false }).toBuffer();
    return { jpeg, regions };
  }

  /**
   * Replaces each block of the region by its mean colour. Blocks scale with the region: at most
   * MAX_BLOCKS_ACROSS across its short side (a face a few blocks across is unrecognisable to people and
   * to face detectors), never finer than `factor` px.
   */
  private pixelate(data: Buffer, stride: number, r: PixelRect): void {
    const short = Math.min(r.width, r.height);
    const block = Math.max(this.factor, short / MAX_BLOCKS_ACROSS);
    const bw = Math.max(1, Math.round(r.width / block));
    const bh = Math.max(1, Math.round(r.height / block));
    for (let by = 0; by < bh; by++) {
      const y0 = r.top + Math.floor((by * r.height) / bh);
      const y1 = r.top + Math.floor(((by + 1) * r.height) / bh);
      for (let bx = 0; bx < bw; bx++) {
        const x0 = r.left + Math.floor((bx * r.width) / bw);
        const x1 = r.left + Math.floor(((bx + 1) * r.width) / bw);
        let sr = 0;
        let sg = 0;
        let sb = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0, i = (y * stride + x0) * 3; x < x1; x++, i += 3) {
            sr += data[i] as number;
            sg += data[i + 1] as number;
            sb += data[i + 2] as number;
          }
        }
        const n = Math.max(1, (x1 - x0) * (y1 - y0));
        const cr = Math.round(sr / n);
        const cg = Math.round(sg / n);
        const cb = Math.round(sb / n);
        for (let y = y0; y < y1; y++) {
          for (let x = x0, i = (y * stride + x0) * 3; x < x1; x++, i += 3) {
            data[i] = cr;
            data[i + 1] = cg;
            data[i + 2] = cb;
          }
        }
      }
    }
  }
}
