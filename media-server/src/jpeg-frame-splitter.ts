import { isStandaloneMarker } from './jpeg-dimensions';

export interface JpegFrameSplitterOptions {
  /** A frame growing past this many bytes is dropped and the splitter resyncs on the next SOI. Default 4 MiB. */
  maxFrameBytes?: number;
}

export const DEFAULT_MAX_JPEG_FRAME_BYTES = 4 * 1024 * 1024;

export interface JpegFrameSplitterStats {
  frames: number;
  bytesIn: number;
  /** Bytes thrown away outside any frame, or in frames abandoned for corruption. */
  discardedBytes: number;
  /** Frames abandoned because they grew past maxFrameBytes. */
  oversized: number;
  /** Frames abandoned because their marker structure was broken (then resynced on the next SOI). */
  corrupt: number;
}

/**
 * Where the parser is inside the current JPEG:
 * - seek-soi: outside a frame, looking for FF D8;
 * - marker: expecting FF xx (fill FFs allowed);
 * - length: read a marker, need its 2-byte length;
 * - skip: skipping a segment's payload;
 * - entropy: in scan data, where FF 00 and RSTn are data and any other FF xx is a marker.
 */
type ParseState = 'seek-soi' | 'marker' | 'length' | 'skip' | 'entropy';

/**
 * Pure core: splits an MJPEG byte stream (ffmpeg `-f image2pipe -c:v mjpeg` or `-f mjpeg`) into whole
 * JPEG frames, however the stream is chunked. It follows the marker structure (segment lengths, scan
 * data), so an EOI inside an APP segment (e.g. an EXIF thumbnail) does not cut a frame short.
 * Garbage between frames is skipped; a broken or oversized frame is dropped and the splitter
 * resyncs on the next SOI.
 */
export class JpegFrameSplitter {
  readonly #maxFrameBytes: number;
  /** Unconsumed bytes; when in a frame, the frame starts at index 0. */
  #buf: Buffer = Buffer.alloc(0);
  /** Next byte to examine in #buf. */
  #pos = 0;
  #state: ParseState = 'seek-soi';
  /** Marker whose length is being read (valid in 'length'). */
  #marker = 0;
  /** Bytes left to skip (valid in 'skip'), and whether scan data follows. */
  #skip = 0;
  #afterSkip: 'marker' | 'entropy' = 'marker';
  readonly #stats: JpegFrameSplitterStats = { frames: 0, bytesIn: 0, discardedBytes: 0, oversized: 0, corrupt: 0 };

  constructor(options: JpegFrameSplitterOptions = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_JPEG_FRAME_BYTES;
  }

  /** Feeds a chunk; returns the frames it completed, oldest first (each a standalone Buffer). */
  push(chunk: Uint8Array): Buffer[] {
    this.#stats.bytesIn += chunk.length;
    this.#buf = this.#buf.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buf, chunk]);
    const frames: Buffer[] = [];
    for (;;) {
      const b = this.#buf;
      if (this.#state === 'seek-soi') {
        const soi = findSoi(b, this.#pos);
        if (soi < 0) {
          // Keep a trailing FF: it may be the first half of an SOI.
          const keep = b.length > 0 && b[b.length - 1] === 0xff ? 1 : 0;
          this.#discard(b.length - keep);
          return frames;
        }
        this.#discard(soi);
        this.#pos = 2;
        this.#state = 'marker';
        continue;
      }
      if (this.#pos > this.#maxFrameBytes) {
        this.#stats.oversized += 1;
        this.#abandonFrame();
        continue;
      }
      if (this.#pos >= b.length) return frames;
      switch (this.#state) {
        case 'marker': {
          if (b[this.#pos] !== 0xff) {
            this.#corrupt();
            break;
          }
          if (this.#pos + 1 >= b.length) return frames;
          const marker = b[this.#pos + 1]!;
          this.#onMarker(marker, frames);
          break;
        }
        case 'length': {
          if (this.#pos + 1 >= b.length) return frames;
          const length = (b[this.#pos]! << 8) | b[this.#pos + 1]!;
          if (length < 2) {
            this.#corrupt();
            break;
          }
          this.#pos += 2;
          this.#skip = length - 2;
          this.#afterSkip = this.#marker === 0xda ? 'entropy' : 'marker';
          this.#state = 'skip';
          break;
        }
        case 'skip': {
          const n = Math.min(this.#skip, b.length - this.#pos);
          this.#pos += n;
          this.#skip -= n;
          if (this.#skip === 0) this.#state = this.#afterSkip;
          break;
        }
        case 'entropy': {
          const ff = b.indexOf(0xff, this.#pos);
          if (ff < 0) {
            this.#pos = b.length;
            break;
          }
          if (ff + 1 >= b.length) {
            this.#pos = ff;
            return frames;
          }
          const next = b[ff + 1]!;
          if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
            this.#pos = ff + 2; // stuffed byte or restart marker: still scan data
          } else if (next === 0xff) {
            this.#pos = ff + 1; // fill byte before a marker
          } else {
            this.#pos = ff;
            this.#onMarker(next, frames);
          }
          break;
        }
      }
    }
  }

  /** Drops any partial frame (e.g. when the source restarts). */
  reset(): void {
    this.#discard(this.#buf.length);
    this.#state = 'seek-soi';
  }

  toJSON(): JpegFrameSplitterStats & { pendingBytes: number } {
    return { ...this.#stats, pendingBytes: this.#buf.length };
  }

  /** Handles marker FF `marker` at #pos. */
  #onMarker(marker: number, frames: Buffer[]): void {
    if (marker === 0xff) {
      this.#pos += 1;
      return;
    }
    if (marker === 0xd9) {
      const end = this.#pos + 2;
      if (end > this.#maxFrameBytes) {
        this.#stats.oversized += 1;
        this.#stats.discardedBytes += end;
      } else {
        frames.push(Buffer.from(this.#buf.subarray(0, end)));
        this.#stats.frames += 1;
      }
      this.#buf = this.#buf.subarray(end);
      this.#pos = 0;
      this.#state = 'seek-soi';
      return;
    }
    if (marker === 0xd8) {
      // A new SOI inside a frame: the previous frame was truncated. Start over here.
      this.#stats.corrupt += 1;
      this.#discard(this.#pos);
      this.#pos = 2;
      this.#state = 'marker';
      return;
    }
    if (isStandaloneMarker(marker)) {
      this.#pos += 2;
      this.#state = 'marker';
      return;
    }
    this.#marker = marker;
    this.#pos += 2;
    this.#state = 'length';
  }

  #corrupt(): void {
    this.#stats.corrupt += 1;
    this.#abandonFrame();
  }

  /** Gives up on the frame at index 0 and searches for the next SOI after its SOI. */
  #abandonFrame(): void {
    this.#discard(1);
    this.#state = 'seek-soi';
  }

  /** Throws away the first n bytes of #buf. */
  #discard(n: number): void {
    if (n <= 0) {
      this.#pos = 0;
      return;
    }
    this.#stats.discardedBytes += n;
    this.#buf = this.#buf.subarray(n);
    this.#pos = 0;
  }
}

function findSoi(b: Buffer, from: number): number {
  let i = b.indexOf(0xff, from);
  while (i >= 0 && i + 1 < b.length) {
    if (b[i + 1] === 0xd8) return i;
    i = b.indexOf(0xff, i + 1);
  }
  return -1;
}
