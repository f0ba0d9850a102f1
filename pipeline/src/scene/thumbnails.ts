import sharp from 'sharp';
import type { Box } from '@chronotrace/contracts';

/** Height of a subject crop, px (smaller crops are not enlarged). */
export const CROP_HEIGHT = 192;
/** Width of a whole-frame thumbnail, px. */
export const FRAME_WIDTH = 320;

/**
 * The two thumbnails of a track's best view, both from the redacted frame (never raw pixels): the
 * subject's box with a margin, and the whole frame, small. Throws when the JPEG does not decode.
 */
export async function trackThumbnails(jpeg: Uint8Array, box: Box, frame: { width: number; height: number }): Promise<{ crop: Uint8Array; frame: Uint8Array }> {
  const image = sharp(jpeg, { failOn: 'error' });
  const meta = await image.metadata();
  const width = meta.width ?? frame.width;
  const height = meta.height ?? frame.height;
  // Box in frame pixels; the JPEG may be another size than the meta says.
  const sx = width / Math.max(1, frame.width);
  const sy = height / Math.max(1, frame.height);
  const mx = box.w * 0.15;
  const my = box.h * 0.1;
  const left = clamp(Math.floor((box.x - mx) * sx), 0, width - 1);
  const top = clamp(Math.floor((box.y - my) * sy), 0, height - 1);
  const right = clamp(Math.ceil((box.x + box.w + mx) * sx), left + 1, width);
  const bottom = clamp(Math.ceil((box.y + box.h + my) * sy), top + 1, height);
  const [crop, whole] = await Promise.all([
    image
      .clone()
      .extract({ left, top, width: right - left, height: bottom - top })
      .resize({ height: CROP_HEIGHT, withoutEnlargement: true })
      .jpeg({ quality: 78 })
      .toBuffer(),
    image.clone().resize({ width: FRAME_WIDTH, withoutEnlargement: true }).jpeg({ quality: 72 }).toBuffer(),
  ]);
  return { crop: new Uint8Array(crop), frame: new Uint8Array(whole) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
