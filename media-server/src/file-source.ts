import { extname } from 'node:path';
import type { FfmpegBinary } from './ffmpeg-binary';
import { FfmpegFrameSource, type FfmpegFrameSourceOptions } from './ffmpeg-frame-source';

export interface FileSourceOptions extends FfmpegFrameSourceOptions {
  /** Absolute path of a video (looped forever) or a still image (repeated at fps). */
  path: string;
}

const STILL_IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.webp', '.tif', '.tiff', '.pgm', '.ppm']);

/** True when the path names a still image rather than a video (by extension). */
export function isStillImage(path: string): boolean {
  return STILL_IMAGE_EXTENSIONS.has(extname(path).toLowerCase());
}

/** A local file played as a live camera: a video looped in real time, or a still image repeated. */
export class FileSource extends FfmpegFrameSource {
  readonly kind = 'file';
  readonly path: string;
  readonly still: boolean;

  constructor(options: FileSourceOptions) {
    super(options);
    this.path = options.path;
    this.still = isStillImage(options.path);
  }

  protected inputArgs(_ffmpeg: FfmpegBinary): string[] {
    if (this.still) return ['-re', '-loop', '1', '-framerate', String(this.options.fps), '-i', this.path];
    // -re paces reading at the native frame rate so a file behaves like a live camera.
    return ['-re', '-stream_loop', '-1', '-i', this.path];
  }

  protected describeInput(): string {
    return this.path;
  }
}
