import { existsSync } from 'node:fs';
import type { FfmpegBinary } from './ffmpeg-binary';
import { FfmpegFrameSource, type FfmpegFrameSourceOptions } from './ffmpeg-frame-source';

export interface TestPatternSourceOptions extends FfmpegFrameSourceOptions {
  /** An ffmpeg lavfi source: testsrc, testsrc2, smptebars… Default 'testsrc2'. */
  pattern?: string;
  /**
   * Font for the clock/counter overlay, so consecutive frames differ even for still patterns.
   * Default: DejaVu Sans when installed; without a font the overlay is left out.
   */
  fontFile?: string | null;
}

const DEFAULT_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

/** ffmpeg's synthetic video (lavfi), paced in real time, with a clock and frame counter drawn on it. */
export class TestPatternSource extends FfmpegFrameSource {
  readonly kind = 'testsrc';
  readonly pattern: string;
  readonly #fontFile: string | null;

  constructor(options: TestPatternSourceOptions) {
    super(options);
    this.pattern = options.pattern ?? 'testsrc2';
    if (!/^[a-z0-9_]+$/.test(this.pattern)) throw new RangeError(`bad test pattern "${this.pattern}"`);
    this.#fontFile = options.fontFile === undefined ? (existsSync(DEFAULT_FONT) ? DEFAULT_FONT : null) : options.fontFile;
  }

  protected inputArgs(_ffmpeg: FfmpegBinary): string[] {
    const width = this.options.width;
    const height = Math.max(2, Math.round((width * 3) / 4 / 2) * 2);
    // Generate at a whole rate ≥ fps; the fps filter samples it down.
    const rate = Math.max(1, Math.ceil(this.options.fps));
    return ['-re', '-f', 'lavfi', '-i', `${this.pattern}=size=${width}x${height}:rate=${rate}`];
  }

  protected override preFilters(): string[] {
    if (!this.#fontFile) return [];
    const fontsize = Math.max(10, Math.round(this.options.width / 24));
    // Filtergraph escaping: ':' inside option values is escaped with '\'.
    const font = this.#fontFile.replace(/\\/g, '\\\\').replace(/:/g, '\\:').replace(/'/g, "\\'");
    return [
      `drawtext=fontfile='${font}':text='%{localtime\\:%T} #%{n}':x=8:y=8:fontsize=${fontsize}:fontcolor=white:box=1:boxcolor=black@0.6`,
    ];
  }

  protected describeInput(): string {
    return `lavfi:${this.pattern}`;
  }
}
