import type { Box } from '@chronotrace/contracts';

/** One 8-connected region of a binary mask. */
export interface Component {
  /** Bounding box in mask pixels (x, y inclusive; w, h in pixels). */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Pixels in the region. */
  area: number;
  /** Mean of the source values over the region's pixels. */
  meanScore: number;
}

/**
 * Labels the 8-connected regions of `values >= threshold` in a `width`×`height` map (row-major)
 * and returns their bounding boxes. Iterative flood fill: no recursion, one Int32Array stack.
 */
export function connectedComponents(values: ArrayLike<number>, width: number, height: number, threshold: number): Component[] {
  const n = width * height;
  if (values.length < n) throw new RangeError(`map has ${values.length} values, expected ${width}×${height}=${n}`);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const out: Component[] = [];
  for (let start = 0; start < n; start++) {
    if (seen[start] || (values[start] as number) < threshold) continue;
    let sp = 0;
    stack[sp++] = start;
    seen[start] = 1;
    let minX = width, minY = height, maxX = -1, maxY = -1, area = 0, sum = 0;
    while (sp > 0) {
      const p = stack[--sp] as number;
      const px = p % width;
      const py = (p - px) / width;
      area++;
      sum += values[p] as number;
      if (px < minX) minX = px;
      if (px > maxX) maxX = px;
      if (py < minY) minY = py;
      if (py > maxY) maxY = py;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if (nx < 0 || nx >= width || (dx === 0 && dy === 0)) continue;
          const q = ny * width + nx;
          if (seen[q] || (values[q] as number) < threshold) continue;
          seen[q] = 1;
          stack[sp++] = q;
        }
      }
    }
    out.push({ x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1, area, meanScore: sum / area });
  }
  return out;
}

export interface TextBoxOptions {
  /** Pixels at or above this probability are text. Default 0.3 (PaddleOCR's det_db_thresh). */
  threshold: number;
  /** Regions whose mean probability is below this are dropped. Default 0.5 (PaddleOCR: 0.6; lower favours recall). */
  boxThreshold: number;
  /** Regions smaller than this many map pixels are noise. Default 6. */
  minArea: number;
  /** DB shrinks text regions when training; grow them back by area × ratio / perimeter. Default 1.6 (PaddleOCR: 1.5). */
  unclipRatio: number;
}

export const DEFAULT_TEXT_BOX_OPTIONS: TextBoxOptions = { threshold: 0.3, boxThreshold: 0.5, minArea: 6, unclipRatio: 1.6 };

/**
 * Turns a DB text-probability map into text boxes in frame pixels: threshold → 8-connected
 * components → drop small and weak ones → unclip (grow) → scale by frame/map size.
 */
export function textBoxesFromProbabilityMap(
  map: ArrayLike<number>,
  mapWidth: number,
  mapHeight: number,
  frameWidth: number,
  frameHeight: number,
  options: Partial<TextBoxOptions> = {},
): Box[] {
  const o = { ...DEFAULT_TEXT_BOX_OPTIONS, ...options };
  const sx = frameWidth / mapWidth;
  const sy = frameHeight / mapHeight;
  const boxes: Box[] = [];
  for (const c of connectedComponents(map, mapWidth, mapHeight, o.threshold)) {
    if (c.area < o.minArea || c.meanScore < o.boxThreshold) continue;
    const d = (c.w * c.h * o.unclipRatio) / (2 * (c.w + c.h));
    const x = Math.max(0, (c.x - d) * sx);
    const y = Math.max(0, (c.y - d) * sy);
    const right = Math.min(frameWidth, (c.x + c.w + d) * sx);
    const bottom = Math.min(frameHeight, (c.y + c.h + d) * sy);
    boxes.push({ x, y, w: right - x, h: bottom - y, score: c.meanScore, label: 'text' });
  }
  return boxes;
}
