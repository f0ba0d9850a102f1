import type { BasicColor } from '@chronotrace/contracts';

/** Hue in degrees [0, 360), saturation and value in [0, 1]. */
export interface Hsv {
  h: number;
  s: number;
  v: number;
}

/** Standard RGB → HSV (hexcone). Hue is 0 for greys. */
export function rgbToHsv(r: number, g: number, b: number): Hsv {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const c = max - min;
  let h = 0;
  if (c > 0) {
    if (max === r) h = ((g - b) / c) % 6;
    else if (max === g) h = (b - r) / c + 2;
    else h = (r - g) / c + 4;
    h *= 60;
    if (h < 0) h += 360;
  }
  return { h, s: max === 0 ? 0 : c / max, v: max / 255 };
}

/**
 * The thresholds of the palette rules, in one place so they can be read (and tuned) together.
 * Hue bands are in degrees, half-open [from, to).
 */
export const PALETTE_THRESHOLDS = {
  /** Darker than this (V) is black whatever the hue: hue is meaningless in the shadows and JPEG noise dominates. */
  blackValue: 0.2,
  /** Less saturated than this is achromatic (black / grey / white by value). */
  achromaticSaturation: 0.2,
  /** Chroma (max − min of R, G, B, 0..255) below this is achromatic too: dark pixels inflate S. */
  achromaticChroma: 28,
  /** Achromatic pixels: V below this is black, at or above `whiteValue` white, between grey. */
  greyBlackValue: 0.25,
  whiteValue: 0.78,
  /** Hue bands (the rest of the circle, [340, 360) ∪ [0, 15), is red). */
  orange: [15, 45],
  yellow: [45, 70],
  green: [70, 165],
  blue: [165, 255],
  purple: [255, 290],
  /** Magenta-to-rose band: pink when bright, purple when dark. */
  pink: [290, 340],
  /** Orange/yellow hues darker than this are brown (saddle brown, chocolate in shade, khaki). */
  brownValue: 0.62,
  /** Orange hues this washed out (and not bright) are brown too: tan, camel. */
  brownSaturation: 0.45,
  brownSaturationMaxValue: 0.85,
  /** Yellow hues darker than this read as olive: green. */
  oliveValue: 0.45,
  /** Red hues this washed out and at least this bright are pink. */
  pinkSaturation: 0.5,
  pinkValue: 0.6,
  /** Magenta-band hues darker than this are purple (plum, CSS purple #800080). */
  pinkBandPurpleValue: 0.6,
} as const;

const T = PALETTE_THRESHOLDS;

function inBand(h: number, band: readonly [number, number]): boolean {
  return h >= band[0] && h < band[1];
}

/**
 * Names one pixel (or a small patch's mean) with the fixed palette.
 * Order matters: darkness first, then lack of colour, then hue bands with value/saturation splits.
 */
export function classifyColor(r: number, g: number, b: number): BasicColor {
  const { h, s, v } = rgbToHsv(r, g, b);
  if (v < T.blackValue) return 'black';
  const chroma = Math.max(r, g, b) - Math.min(r, g, b);
  if (s < T.achromaticSaturation || chroma < T.achromaticChroma) {
    if (v < T.greyBlackValue) return 'black';
    return v >= T.whiteValue ? 'white' : 'grey';
  }
  if (inBand(h, T.orange)) {
    if (v < T.brownValue || (s < T.brownSaturation && v < T.brownSaturationMaxValue)) return 'brown';
    return 'orange';
  }
  if (inBand(h, T.yellow)) {
    if (v < T.oliveValue) return 'green';
    if (v < T.brownValue) return 'brown';
    return 'yellow';
  }
  if (inBand(h, T.green)) return 'green';
  if (inBand(h, T.blue)) return 'blue';
  if (inBand(h, T.purple)) return 'purple';
  if (inBand(h, T.pink)) return v < T.pinkBandPurpleValue ? 'purple' : 'pink';
  // Red band.
  if (s < T.pinkSaturation && v >= T.pinkValue) return 'pink';
  return 'red';
}
