import type { CameraConfig, ParsedSource } from '@chronotrace/contracts';
import type { Logger } from '@chronotrace/platform';
import type { FfmpegBinary } from './ffmpeg-binary';
import { FileSource } from './file-source';
import type { FrameSource } from './frame-source';
import { RtspSource } from './rtsp-source';
import { TestPatternSource } from './test-pattern-source';
import type { WhipHub } from './video/whip-hub';
import { WhipFrameSource } from './whip-source';

/** The camera settings a source needs. */
export type SourceCameraConfig = Pick<CameraConfig, 'id' | 'source' | 'fps' | 'width'>;

export interface FrameSourceFactoryOptions {
  /** The ffmpeg to run. Default: resolveFfmpeg() at start. */
  ffmpeg?: FfmpegBinary;
  /** RTSP connect/read timeout. Default 5000 ms. */
  rtspTimeoutMs?: number;
  /** Where WebRTC cameras' publishers arrive; without it a `webrtc` camera cannot start. */
  whip?: WhipHub;
  logger?: Logger;
}

/** Makes a fresh, unstarted source for a camera; called again on every restart. */
export type FrameSourceFactory = (camera: SourceCameraConfig, source: ParsedSource) => FrameSource;

/** The default factory: RtspSource, FileSource, TestPatternSource or WhipFrameSource by source kind. */
export function ffmpegSourceFactory(options: FrameSourceFactoryOptions = {}): FrameSourceFactory {
  return (camera, source) => {
    const base = { camera: camera.id, fps: camera.fps, width: camera.width, ffmpeg: options.ffmpeg, logger: options.logger?.child({ camera: camera.id }) };
    switch (source.kind) {
      case 'rtsp':
        return new RtspSource({ ...base, url: source.url, timeoutMs: options.rtspTimeoutMs });
      case 'file':
        return new FileSource({ ...base, path: source.path });
      case 'testsrc':
        return new TestPatternSource({ ...base, pattern: source.pattern });
      case 'webrtc':
        if (!options.whip) throw new Error('this process takes no WHIP publishers: WebRTC cameras are ingested where the WHIP endpoint runs');
        return new WhipFrameSource({ ...base, hub: options.whip });
    }
  };
}
