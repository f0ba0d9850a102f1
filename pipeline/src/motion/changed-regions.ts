/** A connected blob of changed pixels, in the pixels of the small grey image. */
export interface ChangedBlob {
  x: number;
  y: number;
  w: number;
  h: number;
  /** Changed pixels in the blob (not the area of its bounding box). */
  pixels: number;
}

/**
 * Groups the set pixels of a change mask into blobs. Pixels within `gap` pixels of each other
 * (Chebyshev distance) join one blob, so a person whose silhouette differs only in patches is one
 * region, as Frigate's dilation before contour finding does. Pure; O(pixels).
 */
export function findChangedBlobs(mask: Uint8Array, width: number, height: number, gap = 1): ChangedBlob[] {
  const labels = new Int32Array(width * height).fill(-1);
  const blobs: ChangedBlob[] = [];
  const stack: number[] = [];
  for (let start = 0; start < mask.length; start++) {
    if (mask[start] === 0 || labels[start] !== -1) continue;
    const label = blobs.length;
    let minX = width;
    let minY = height;
    let maxX = -1;
    let maxY = -1;
    let pixels = 0;
    labels[start] = label;
    stack.push(start);
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const x = i % width;
      const y = (i - x) / width;
      pixels++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      for (let ny = Math.max(0, y - gap); ny <= Math.min(height - 1, y + gap); ny++) {
        for (let nx = Math.max(0, x - gap); nx <= Math.min(width - 1, x + gap); nx++) {
          const j = ny * width + nx;
          if (mask[j] !== 0 && labels[j] === -1) {
            labels[j] = label;
            stack.push(j);
          }
        }
      }
    }
    blobs.push({ x: minX, y: minY, w: maxX - minX + 1, h: maxY - minY + 1, pixels });
  }
  return blobs;
}
