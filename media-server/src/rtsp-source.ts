import type { FfmpegBinary } from './ffmpeg-binary';
import { FfmpegFrameSource, redactCredentials, type FfmpegFrameSourceOptions } from './ffmpeg-frame-source';

export interface RtspSourceOptions extends FfmpegFrameSourceOptions {
  /** rtsp:// or rtsps:// URL, credentials allowed (they are redacted in logs and reasons). */
  url: string;
  /** Socket connect/read timeout: ffmpeg gives up (and exits) after this long without data. Default 5000 ms. */
  timeoutMs?: number;
  /** How long ffmpeg probes the stream before the first frame (`-analyzeduration`); its 5 s default delays going live. Default 1000 ms. */
  analyzeDurationMs?: number;
}

export const DEFAULT_RTSP_TIMEOUT_MS = 5000;
export const DEFAULT_RTSP_ANALYZE_DURATION_MS = 1000;

/** An RTSP camera pulled over TCP (interleaved), with low-latency demuxing. */
export class RtspSource extends FfmpegFrameSource {
  readonly kind = 'rtsp';
  readonly url: string;
  readonly timeoutMs: number;
  readonly analyzeDurationMs: number;

  constructor(options: RtspSourceOptions) {
    super(options);
    this.url = options.url;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_RTSP_TIMEOUT_MS;
    this.analyzeDurationMs = options.analyzeDurationMs ?? DEFAULT_RTSP_ANALYZE_DURATION_MS;
  }

  protected inputArgs(ffmpeg: FfmpegBinary): string[] {
    return [
      '-rtsp_transport', 'tcp',
      // µs. ffmpeg ≥ 5 calls it -timeout; older builds -stimeout (their -timeout means "listen").
      `-${ffmpeg.rtspTimeoutOption}`, String(this.timeoutMs * 1000),
      '-fflags', 'nobuffer',
      '-flags', 'low_delay',
      '-analyzeduration', String(this.analyzeDurationMs * 1000),
      '-i', this.url,
    ];
  }

  protected describeInput(): string {
    return redactCredentials(this.url);
  }
}
