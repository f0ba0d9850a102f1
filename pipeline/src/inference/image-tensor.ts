/**
 * Model inputs cut from a decoded frame in one pass: a square region (which may reach past the frame's
 * edges: those pixels are padding) resampled bilinearly to size × size and normalised. One decode per
 * frame serves every crop (tiles, head regions, vehicle boxes), so no crop costs another JPEG decode.
 */

/** A decoded frame: interleaved RGB bytes. */
export interface RgbFrame {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * A decoded frame whose bytes live in a SharedArrayBuffer: posted to every model thread of an analysis
 * without a copy or a decode of its own (each thread used to decode the JPEG again). Read-only by
 * convention: nobody writes it after shareRgbFrame().
 */
export interface SharedRgbFrame extends RgbFrame {
  readonly shared: true;
}

/** One copy of the frame's bytes into shared memory (≈ 0.1 ms for 640×480, against ≈ 2 ms per decode). */
export function shareRgbFrame(frame: RgbFrame): SharedRgbFrame {
  if (frame.data.length !== frame.width * frame.height * 3) throw new Error(`RGB frame ${frame.width}×${frame.height} needs ${frame.width * frame.height * 3} bytes, got ${frame.data.length}`);
  const data = new Uint8Array(new SharedArrayBuffer(frame.data.length));
  data.set(frame.data);
  return { data, width: frame.width, height: frame.height, shared: true };
}

/** A uniform grey frame (model warm-ups). */
export function greyRgbFrame(width: number, height: number, value = 128): RgbFrame {
  return { data: new Uint8Array(width * height * 3).fill(value), width, height };
}

/** A region of the frame in pixels; may extend past the frame. */
export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface TensorLayout {
  /** NHWC (tfjs-born models) or NCHW (PyTorch/Paddle-born). */
  order: 'nhwc' | 'nchw';
  /** Channel order fed to the model. */
  channels: 'rgb' | 'bgr';
  /** value = (byte − mean[c]) / std[c], per fed channel. */
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Byte value used outside the frame. Default 0. */
  pad?: number;
}

/**
 * Resamples `region` of `frame` to outW × outH (bilinear, centre-aligned) into `out` (or a new array).
 * A downscale by more than 2 averages 2×2 taps per sample, so small text and faces do not alias away.
 */
export function regionToTensor(frame: RgbFrame, region: Region, outW: number, outH: number, layout: TensorLayout, out?: Float32Array): Float32Array {
  const n = outW * outH;
  const t = out ?? new Float32Array(3 * n);
  if (t.length !== 3 * n) throw new RangeError(`tensor of ${t.length} for ${outW}×${outH}×3`);
  const { data, width, height } = frame;
  const pad = layout.pad ?? 0;
  const sx = region.w / outW;
  const sy = region.h / outH;
  const bgr = layout.channels === 'bgr';
  const tapsX = sx > 2 ? 2 : 1;
  const tapsY = sy > 2 ? 2 : 1;
  // Per output column / row: for each tap the two source indices (−1 = outside) and their weights.
  const cols = taps(outW, region.x, sx, tapsX, width);
  const rows = taps(outH, region.y, sy, tapsY, height);
  const kx = tapsX * 2;
  const ky = tapsY * 2;
  const norm = 1 / (tapsX * tapsY);
  const m0 = layout.mean[0];
  const m1 = layout.mean[1];
  const m2 = layout.mean[2];
  const s0 = 1 / layout.std[0];
  const s1 = 1 / layout.std[1];
  const s2 = 1 / layout.std[2];
  const nhwc = layout.order === 'nhwc';
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ky; j++) {
        const yy = rows.index[y * ky + j] as number;
        const wy = rows.weight[y * ky + j] as number;
        if (wy === 0) continue;
        for (let i = 0; i < kx; i++) {
          const wx = cols.weight[x * kx + i] as number;
          if (wx === 0) continue;
          const xx = cols.index[x * kx + i] as number;
          const w = wx * wy;
          if (xx < 0 || yy < 0) {
            r += w * pad;
            g += w * pad;
            b += w * pad;
          } else {
            const o = (yy * width + xx) * 3;
            r += w * (data[o] as number);
            g += w * (data[o + 1] as number);
            b += w * (data[o + 2] as number);
          }
        }
      }
      const c0 = ((bgr ? b : r) * norm - m0) * s0;
      const c1 = (g * norm - m1) * s1;
      const c2 = ((bgr ? r : b) * norm - m2) * s2;
      const i = y * outW + x;
      if (nhwc) {
        t[i * 3] = c0;
        t[i * 3 + 1] = c1;
        t[i * 3 + 2] = c2;
      } else {
        t[i] = c0;
        t[n + i] = c1;
        t[2 * n + i] = c2;
      }
    }
  }
  return t;
}

/** Source indices (−1 outside 0..limit−1) and bilinear weights of each output position's taps along one axis. */
function taps(count: number, origin: number, step: number, perOut: number, limit: number): { index: Int32Array; weight: Float32Array } {
  const k = perOut * 2;
  const index = new Int32Array(count * k);
  const weight = new Float32Array(count * k);
  for (let o = 0; o < count; o++) {
    for (let t = 0; t < perOut; t++) {
      const offset = perOut === 1 ? 0 : t === 0 ? -0.25 : 0.25;
      const f = origin + (o + 0.5 + offset) * step - 0.5;
      const i0 = Math.floor(f);
      const a = f - i0;
      const base = o * k + t * 2;
      index[base] = i0 >= 0 && i0 < limit ? i0 : -1;
      index[base + 1] = i0 + 1 >= 0 && i0 + 1 < limit ? i0 + 1 : -1;
      weight[base] = 1 - a;
      weight[base + 1] = a;
    }
  }
  return { index, weight };
}

/** The square of side max(w, h) centred on a region (a model with a square input sees it unstretched). */
export function squareAround(r: Region): Region {
  const side = Math.max(r.w, r.h);
  return { x: r.x + r.w / 2 - side / 2, y: r.y + r.h / 2 - side / 2, w: side, h: side };
}
