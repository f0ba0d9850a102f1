import type { CameraConfig } from '@chronotrace/contracts';
import { createLogger, type Bus, type Logger } from '@chronotrace/platform';
import { IngestService, type IngestServiceOptions } from './ingest-service';

export * from './camera-supervisor';
export * from './enhanced-events';
export * from './ffmpeg-binary';
export * from './ffmpeg-frame-source';
export * from './file-source';
export * from './frame-source';
export * from './frame-source-factory';
export * from './ingest-service';
export * from './jpeg-dimensions';
export * from './jpeg-frame-splitter';
export * from './rtsp-source';
export * from './test-pattern-source';
export * from './video/h264-rtp-encoder';
export * from './video/live-video-service';
export * from './video/webrtc-config';
export * from './video/whip-hub';
export * from './whip-source';
export * from './recording/camera-recorder';
export * from './recording/fmp4';
export * from './recording/hls-playlist';
export * from './recording/recording-service';
export * from './upload/video-probe';
export * from './upload/video-job-runner';

export interface StartIngestOptions extends Omit<IngestServiceOptions, 'bus' | 'logger'> {
  bus: Bus;
  /** Cameras from the streams config; disabled ones (enabled: false) are skipped. */
  cameras: readonly CameraConfig[];
  /** Default: createLogger('media-server.ingest'). */
  logger?: Logger;
}

/** Starts an IngestService with the enabled cameras. The caller owns it (close() on shutdown) and the bus. */
export function startIngest(options: StartIngestOptions): IngestService {
  const { cameras, ...rest } = options;
  const logger = options.logger ?? createLogger('media-server.ingest');
  const ingest = new IngestService({ ...rest, logger });
  for (const camera of cameras) {
    if (camera.enabled === false) continue;
    const added = ingest.addCamera(camera);
    if (!added.ok) logger.error({ camera: camera.id, reason: added.reason, detail: added.detail }, 'camera not added');
  }
  return ingest;
}
export * from './camera-reconciler';
export * from './video/publish-tokens';
export * from './video/webrtc-http';
export * from './export/evidence-clip';
