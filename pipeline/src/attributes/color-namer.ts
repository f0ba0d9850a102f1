import { BASIC_COLORS, type BasicColor, type Box, type ColorPart } from '@chronotrace/contracts';
import { classifyColor } from './color-palette';
import { AttributeOptionsError } from './errors';
import { assertRgbImage, type RgbImage } from './rgb-image';

/** What the box holds; decides which parts of it are measured. */
export type ColorSubjectKind = 'person' | 'vehicle' | 'object';

/** A rectangle inside a box, as fractions of the box's width and height (0 = left/top edge, 1 = right/bottom). */
export interface BoxRegion {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** Where each part is measured. */
export interface ColorRegions {
  /**
   * A person's upper body. Starts at 20 % of the height: the head is about the top 1/8 of a
   * standing person and is redacted anyway, so it is never sampled; the margin absorbs loose boxes.
   * Narrowed to the middle 60 % so background beside the arms stays out.
   */
  personUpper: BoxRegion;
  /** A person's legs, above the shoes and narrowed to the middle half (background shows between legs). */
  personLower: BoxRegion;
  /** A vehicle's body: below the roof and windscreen, above the wheels, inside the wheel arches. */
  vehicle: BoxRegion;
  /** Any other object: the box minus a margin of background. */
  object: BoxRegion;
}

export interface ColorNamerOptions {
  /** Most grid samples taken from one part, whatever the box size (bounds the work per box). Default 256. */
  maxSamplesPerPart: number;
  /** A part with fewer samples (tiny, or mostly outside the frame) is not named. Default 9. */
  minSamplesPerPart: number;
  /** A colour is listed when it holds at least this share of a part's samples. Default 0.2. */
  minFraction: number;
  /**
   * Each sample is the mean of a (2r+1)² patch around the grid point (clipped to the part) so JPEG
   * noise and chroma blocking average out before naming. 0 reads single pixels. Default 1 (3×3).
   */
  patchRadius: number;
  /** Default DEFAULT_COLOR_REGIONS. */
  regions: ColorRegions;
}

export const DEFAULT_COLOR_REGIONS: ColorRegions = {
  personUpper: { top: 0.2, bottom: 0.5, left: 0.2, right: 0.8 },
  personLower: { top: 0.55, bottom: 0.9, left: 0.25, right: 0.75 },
  vehicle: { top: 0.2, bottom: 0.7, left: 0.15, right: 0.85 },
  object: { top: 0.15, bottom: 0.85, left: 0.15, right: 0.85 },
};

export const DEFAULT_COLOR_NAMER_OPTIONS: ColorNamerOptions = {
  maxSamplesPerPart: 256,
  minSamplesPerPart: 9,
  minFraction: 0.2,
  patchRadius: 1,
  regions: DEFAULT_COLOR_REGIONS,
};

/** The head is never sampled: a person's upper-body region may not start above this fraction of the box. */
export const PERSON_HEAD_FRACTION = 0.15;

export interface ColorShare {
  color: BasicColor;
  /** Share of the part's samples, 0..1. */
  fraction: number;
}

export interface PartColors {
  /** The colour with the most votes (ties broken by palette order). */
  dominant: BasicColor;
  /** `dominant` first, then every other colour with at least `minFraction`, by share descending. */
  colors: ColorShare[];
  samples: number;
}

/**
 * Colours of one box. A person gets `upper`, `lower` and `any` (both parts' votes pooled); a vehicle
 * or object gets `any` only. A part is absent when too little of it is inside the frame.
 * Indexable by the contracts' ColorPart.
 */
export interface ColorAttributes extends Partial<Record<ColorPart, PartColors>> {
  kind: ColorSubjectKind;
  /** Grid samples taken, over all parts. */
  samples: number;
  /** Pixels read to make them (samples × patch area, less at part edges). */
  pixelsRead: number;
}

/** What callers pass: any option, and any region (the others keep their defaults). */
export type ColorNamerOptionsInput = Partial<Omit<ColorNamerOptions, 'regions'>> & { regions?: Partial<ColorRegions> };

/** Validates and fills in options; throws AttributeOptionsError on a value out of range. */
export function parseColorNamerOptions(options: ColorNamerOptionsInput = {}): ColorNamerOptions {
  const o: ColorNamerOptions = { ...DEFAULT_COLOR_NAMER_OPTIONS, ...options, regions: { ...DEFAULT_COLOR_REGIONS, ...options.regions } };
  if (!Number.isInteger(o.maxSamplesPerPart) || o.maxSamplesPerPart < 1) {
    throw new AttributeOptionsError(`maxSamplesPerPart must be a positive integer, got ${o.maxSamplesPerPart}`);
  }
  if (!Number.isInteger(o.minSamplesPerPart) || o.minSamplesPerPart < 1 || o.minSamplesPerPart > o.maxSamplesPerPart) {
    throw new AttributeOptionsError(`minSamplesPerPart must be an integer in 1..maxSamplesPerPart, got ${o.minSamplesPerPart}`);
  }
  if (!(o.minFraction > 0 && o.minFraction <= 1)) throw new AttributeOptionsError(`minFraction must be in (0, 1], got ${o.minFraction}`);
  if (!Number.isInteger(o.patchRadius) || o.patchRadius < 0 || o.patchRadius > 4) {
    throw new AttributeOptionsError(`patchRadius must be an integer in 0..4, got ${o.patchRadius}`);
  }
  for (const [name, r] of Object.entries(o.regions)) {
    if (!(r.top >= 0 && r.top < r.bottom && r.bottom <= 1 && r.left >= 0 && r.left < r.right && r.right <= 1)) {
      throw new AttributeOptionsError(`region ${name} must satisfy 0 ≤ top < bottom ≤ 1 and 0 ≤ left < right ≤ 1`);
    }
  }
  if (o.regions.personUpper.top < PERSON_HEAD_FRACTION) {
    throw new AttributeOptionsError(`region personUpper must start at or below ${PERSON_HEAD_FRACTION} of the box: the head is never sampled`);
  }
  return o;
}

/** Votes of one part, indexed like BASIC_COLORS. */
interface Votes {
  counts: Uint32Array;
  samples: number;
  pixelsRead: number;
}

const PALETTE_INDEX = new Map<BasicColor, number>(BASIC_COLORS.map((c, i) => [c, i]));

/**
 * Samples a region of the box on a regular grid and votes each sample's colour. The region is
 * placed from the whole box (so a person's legs stay the legs when the head is out of view), then
 * clipped to the frame; patches are clipped to the clipped region, so nothing outside it is read.
 */
function vote(image: RgbImage, box: Box, region: BoxRegion, o: ColorNamerOptions): Votes {
  const counts = new Uint32Array(BASIC_COLORS.length);
  const x0 = Math.max(0, Math.round(box.x + region.left * box.w));
  const x1 = Math.min(image.width, Math.round(box.x + region.right * box.w));
  const y0 = Math.max(0, Math.round(box.y + region.top * box.h));
  const y1 = Math.min(image.height, Math.round(box.y + region.bottom * box.h));
  const rw = x1 - x0;
  const rh = y1 - y0;
  if (rw <= 0 || rh <= 0) return { counts, samples: 0, pixelsRead: 0 };

  // A grid of at most maxSamplesPerPart points with the region's aspect ratio.
  const nx = Math.min(rw, Math.max(1, Math.round(Math.sqrt((o.maxSamplesPerPart * rw) / rh))));
  const ny = Math.min(rh, Math.max(1, Math.floor(o.maxSamplesPerPart / nx)));
  const { data, width } = image;
  const r = o.patchRadius;
  let pixelsRead = 0;
  for (let j = 0; j < ny; j++) {
    const cy = y0 + Math.floor(((j + 0.5) * rh) / ny);
    const py0 = Math.max(y0, cy - r);
    const py1 = Math.min(y1 - 1, cy + r);
    for (let i = 0; i < nx; i++) {
      const cx = x0 + Math.floor(((i + 0.5) * rw) / nx);
      const px0 = Math.max(x0, cx - r);
      const px1 = Math.min(x1 - 1, cx + r);
      let sr = 0;
      let sg = 0;
      let sb = 0;
      let n = 0;
      for (let y = py0; y <= py1; y++) {
        let p = (y * width + px0) * 3;
        for (let x = px0; x <= px1; x++, p += 3) {
          sr += data[p] ?? 0;
          sg += data[p + 1] ?? 0;
          sb += data[p + 2] ?? 0;
          n++;
        }
      }
      pixelsRead += n;
      const color = classifyColor(sr / n, sg / n, sb / n);
      const k = PALETTE_INDEX.get(color) ?? 0;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }
  return { counts, samples: nx * ny, pixelsRead };
}

function pool(a: Votes, b: Votes): Votes {
  const counts = new Uint32Array(BASIC_COLORS.length);
  for (let k = 0; k < counts.length; k++) counts[k] = (a.counts[k] ?? 0) + (b.counts[k] ?? 0);
  return { counts, samples: a.samples + b.samples, pixelsRead: a.pixelsRead + b.pixelsRead };
}

function summarise(votes: Votes, o: ColorNamerOptions): PartColors | undefined {
  if (votes.samples < o.minSamplesPerPart) return undefined;
  const shares: ColorShare[] = BASIC_COLORS.map((color, k) => ({ color, fraction: (votes.counts[k] ?? 0) / votes.samples }));
  // Array.prototype.sort is stable: equal shares keep palette order.
  shares.sort((p, q) => q.fraction - p.fraction);
  const [top] = shares;
  if (top === undefined) return undefined;
  return {
    dominant: top.color,
    colors: shares.filter((s, i) => i === 0 || s.fraction >= o.minFraction),
    samples: votes.samples,
  };
}

function withPart(out: ColorAttributes, part: ColorPart, votes: Votes, o: ColorNamerOptions): void {
  const colors = summarise(votes, o);
  if (colors !== undefined) out[part] = colors;
}

/**
 * Names the colours of a detection: a person's upper and lower body, a vehicle's body panels, an
 * object's middle. Pure: reads the image, never the head region of a person. `options` must be
 * parsed (parseColorNamerOptions) when given.
 */
export function colorAttributes(
  image: RgbImage,
  box: Box,
  kind: ColorSubjectKind,
  options: ColorNamerOptions = DEFAULT_COLOR_NAMER_OPTIONS,
): ColorAttributes {
  assertRgbImage(image);
  const o = options;
  const out: ColorAttributes = { kind, samples: 0, pixelsRead: 0 };
  let all: Votes;
  if (kind === 'person') {
    const upper = vote(image, box, o.regions.personUpper, o);
    const lower = vote(image, box, o.regions.personLower, o);
    withPart(out, 'upper', upper, o);
    withPart(out, 'lower', lower, o);
    all = pool(upper, lower);
  } else {
    all = vote(image, box, kind === 'vehicle' ? o.regions.vehicle : o.regions.object, o);
  }
  withPart(out, 'any', all, o);
  out.samples = all.samples;
  out.pixelsRead = all.pixelsRead;
  return out;
}

/** Work done so far, for the stage's metrics view. */
export interface ColorNamerStats {
  boxes: number;
  /** Boxes for which no part could be named (outside the frame, too small). */
  unnamed: number;
  samples: number;
  pixelsRead: number;
}

/** colorAttributes with options parsed once and running counts of the work done. */
export class ColorNamer {
  readonly options: ColorNamerOptions;
  #stats: ColorNamerStats = { boxes: 0, unnamed: 0, samples: 0, pixelsRead: 0 };

  constructor(options: ColorNamerOptionsInput = {}) {
    this.options = parseColorNamerOptions(options);
  }

  name(image: RgbImage, box: Box, kind: ColorSubjectKind): ColorAttributes {
    const out = colorAttributes(image, box, kind, this.options);
    this.#stats.boxes++;
    if (out.any === undefined) this.#stats.unnamed++;
    this.#stats.samples += out.samples;
    this.#stats.pixelsRead += out.pixelsRead;
    return out;
  }

  toJSON(): ColorNamerStats {
    return { ...this.#stats };
  }
}
