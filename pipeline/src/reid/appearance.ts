/*
 * Appearance of a person track for re-identification without a re-ID network (none ships in a
 * reachable npm package): colour histograms of the upper and lower body in HSV (hue by 45°, two
 * saturation levels, three grey levels for unsaturated pixels) and the box's height-to-width ratio.
 * Built from redacted pixels only, and never from the head (the top fifth of the box is skipped).
 */

import { APPEARANCE_BINS, type AppearanceDescriptor } from '@chronotrace/contracts';
import { rgbToHsv } from '../attributes/color-palette';

/** Hue bins × saturation levels + grey levels. */
export const HIST_BINS = APPEARANCE_BINS;

export interface Appearance {
  upper: Float32Array;
  lower: Float32Array;
  /** Box height / width (people are about 2.5–3.5). */
  aspect: number;
  /** Observations merged into it. */
  samples: number;
}

/** The bin of one RGB pixel (0–255 each): grey by value when unsaturated or dark, else hue × saturation. */
export function binOf(r: number, g: number, b: number): number {
  const { h, s, v } = rgbToHsv(r, g, b);
  if (s < 0.25 || v < 0.15) return 16 + (v < 0.33 ? 0 : v < 0.66 ? 1 : 2);
  return (Math.floor(h / 45) % 8) * 2 + (s < 0.6 ? 0 : 1);
}

/**
 * The appearance of a box in an RGB frame (`rgb`: width × height × 3 bytes): upper body from 20 % to
 * 50 % of the box height, lower body from 50 % to 90 %, the middle 60 % of its width (less background).
 */
export function appearanceOf(rgb: Uint8Array, width: number, height: number, box: { x: number; y: number; w: number; h: number }): Appearance {
  const upper = new Float32Array(HIST_BINS);
  const lower = new Float32Array(HIST_BINS);
  const x0 = Math.max(0, Math.floor(box.x + box.w * 0.2));
  const x1 = Math.min(width, Math.ceil(box.x + box.w * 0.8));
  const band = (from: number, to: number, hist: Float32Array): void => {
    const y0 = Math.max(0, Math.floor(box.y + box.h * from));
    const y1 = Math.min(height, Math.ceil(box.y + box.h * to));
    // Every other pixel both ways: enough for a histogram, a quarter of the work.
    for (let y = y0; y < y1; y += 2) {
      for (let x = x0; x < x1; x += 2) {
        const i = (y * width + x) * 3;
        hist[binOf(rgb[i]!, rgb[i + 1]!, rgb[i + 2]!)]!++;
      }
    }
    normalise(hist);
  };
  band(0.2, 0.5, upper);
  band(0.5, 0.9, lower);
  return { upper, lower, aspect: box.h / Math.max(1, box.w), samples: 1 };
}

function normalise(h: Float32Array): void {
  let s = 0;
  for (let i = 0; i < h.length; i++) s += h[i]!;
  if (s > 0) for (let i = 0; i < h.length; i++) h[i] = h[i]! / s;
}

/** Merges an observation into a running appearance (the mean of the histograms and ratios). */
export function merge(into: Appearance, add: Appearance): Appearance {
  const n = into.samples;
  const m = add.samples;
  const mix = (a: Float32Array, b: Float32Array): Float32Array => Float32Array.from(a, (v, i) => (v * n + b[i]! * m) / (n + m));
  return { upper: mix(into.upper, add.upper), lower: mix(into.lower, add.lower), aspect: (into.aspect * n + add.aspect * m) / (n + m), samples: n + m };
}

/** Bhattacharyya coefficient of two normalised histograms: 1 identical, 0 disjoint. */
function bhattacharyya(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.sqrt(a[i]! * b[i]!);
  return s;
}

/** How alike two appearances are, 0..1: the body histograms' overlap, lowered by a different build. */
export function similarity(a: Appearance, b: Appearance): number {
  const colours = (bhattacharyya(a.upper, b.upper) + bhattacharyya(a.lower, b.lower)) / 2;
  const build = Math.exp(-Math.abs(Math.log(a.aspect / b.aspect)) / 0.25);
  return colours * (0.7 + 0.3 * build);
}

/** The wire form (bus, store): histograms as plain arrays, rounded to 4 decimals. */
export function toDescriptor(a: Appearance): AppearanceDescriptor {
  const round = (h: Float32Array): number[] => Array.from(h, (v) => Math.round(v * 1e4) / 1e4);
  return { upper: round(a.upper), lower: round(a.lower), aspect: Math.round(a.aspect * 1000) / 1000, samples: a.samples };
}

/** An appearance from its wire form; a descriptor of the wrong shape (another version, a corrupt message) throws. */
export function fromDescriptor(d: AppearanceDescriptor): Appearance {
  const hist = (h: unknown, name: string): Float32Array => {
    if (!Array.isArray(h) || h.length !== HIST_BINS || !h.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) throw new TypeError(`appearance ${name} must be ${HIST_BINS} non-negative numbers`);
    return Float32Array.from(h as number[]);
  };
  if (!(typeof d.aspect === 'number' && d.aspect > 0 && Number.isFinite(d.aspect))) throw new TypeError('appearance aspect must be a positive number');
  return { upper: hist(d.upper, 'upper'), lower: hist(d.lower, 'lower'), aspect: d.aspect, samples: Math.max(1, Math.floor(d.samples) || 1) };
}
