/** Markers that stand alone (no length field): TEM, RST0–7, SOI, EOI. */
export function isStandaloneMarker(marker: number): boolean {
  return marker === 0x01 || (marker >= 0xd0 && marker <= 0xd9);
}

/** SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/**
 * Width and height of a JPEG from its SOF header, without decoding. Null when the bytes are not a
 * JPEG or the header is missing or truncated.
 */
export function readJpegDimensions(jpeg: Uint8Array): { width: number; height: number } | null {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return null;
  let i = 2;
  while (i + 1 < jpeg.length) {
    if (jpeg[i] !== 0xff) return null;
    const marker = jpeg[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (isStandaloneMarker(marker)) {
      if (marker === 0xd9) return null;
      i += 2;
      continue;
    }
    if (i + 3 >= jpeg.length) return null;
    const length = (jpeg[i + 2]! << 8) | jpeg[i + 3]!;
    if (length < 2) return null;
    if (isStartOfFrame(marker)) {
      // SOF: length(2) precision(1) height(2) width(2)
      if (i + 8 >= jpeg.length) return null;
      const height = (jpeg[i + 5]! << 8) | jpeg[i + 6]!;
      const width = (jpeg[i + 7]! << 8) | jpeg[i + 8]!;
      return width > 0 && height > 0 ? { width, height } : null;
    }
    if (marker === 0xda) return null; // scan data before any SOF
    i += 2 + length;
  }
  return null;
}
