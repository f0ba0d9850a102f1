/** Mean absolute difference of two RGB buffers (same size, `width` wide) inside the boxes (the whole image when none). */
export function meanAbsDiff(a: Buffer, b: Buffer, width: number, boxes: { x: number; y: number; w: number; h: number }[]): number {
  let sum = 0;
  let n = 0;
  const height = a.length / 3 / width;
  const regions = boxes.length > 0 ? boxes : [{ x: 0, y: 0, w: width, h: height }];
  for (const r of regions) {
    for (let y = Math.max(0, Math.round(r.y)); y < Math.min(height, Math.round(r.y + r.h)); y++) {
      for (let x = Math.max(0, Math.round(r.x)); x < Math.min(width, Math.round(r.x + r.w)); x++) {
        for (let c = 0; c < 3; c++) {
          const i = (y * width + x) * 3 + c;
          sum += Math.abs(a[i]! - b[i]!);
          n++;
        }
      }
    }
  }
  return sum / Math.max(1, n);
}
