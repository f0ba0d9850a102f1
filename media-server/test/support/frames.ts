import sharp from 'sharp';

/** Frames that differ from each other: a square moving across a gradient, as JPEG. Frame i's square is at x = (i * 7) mod width. */
export async function movingSquareFrames(n: number, width: number, height: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const px = Buffer.alloc(width * height * 3);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const o = (y * width + x) * 3;
        const inSquare = Math.abs(x - ((i * 7) % width)) < 12 && Math.abs(y - height / 2) < 12;
        px[o] = inSquare ? 255 : (x * 255) / width;
        px[o + 1] = inSquare ? 40 : (y * 255) / height;
        px[o + 2] = 90;
      }
    }
    out.push(await sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer());
  }
  return out;
}

/** Calls `push` with frame after frame (looping) at `fps` until the returned stop is called. */
export function pace(frames: readonly Buffer[], fps: number, push: (jpeg: Buffer, capturedAt: number, index: number) => void): () => void {
  let i = 0;
  const timer = setInterval(() => {
    push(frames[i % frames.length]!, Date.now(), i);
    i++;
  }, 1000 / fps);
  return () => clearInterval(timer);
}
