import sharp from 'sharp';

/** A JPEG frame decoded to interleaved RGB (a Buffer: the redactor pixelates it in place and sharp re-encodes it). */
export interface DecodedRgbFrame {
  data: Buffer;
  width: number;
  height: number;
}

/**
 * The one JPEG → RGB decode of the pipeline: the privacy stage decodes each frame once (gate, models,
 * redaction) and a model thread only when it was given the JPEG alone. Rejects with the decoder's reason
 * on a frame that is not an image.
 */
export async function decodeRgbFrame(jpeg: Uint8Array): Promise<DecodedRgbFrame> {
  if (jpeg.length === 0) throw new Error('empty frame body');
  const { data, info } = await sharp(jpeg).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return { data, width: info.width, height: info.height };
  // A greyscale (or CMYK) frame: made RGB, the rare path, so the common one pays no conversion.
  const rgb = await sharp(jpeg).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (rgb.info.channels !== 3) throw new Error(`expected 3 channels, got ${rgb.info.channels}`);
  return { data: rgb.data, width: rgb.info.width, height: rgb.info.height };
}
