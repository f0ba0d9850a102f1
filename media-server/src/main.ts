import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import type { CameraConfig } from '@chronotrace/contracts';
import { CameraCatalog, createLogger, env, exitAfterDrainOnSignal, loadStreamsConfig, instanceId, mediaRootOf, openArchive, openPorts, StageStatsPublisher, seedCamerasFromConfig, sendError, webRtcNetworkOf, type Bus, type Logger } from '@chronotrace/platform';
import { CameraReconciler } from './camera-reconciler';
import { resolveFfmpeg } from './ffmpeg-binary';
import { startIngest } from './index';
import type { IngestService } from './ingest-service';
import { PublishTokens } from './video/publish-tokens';
import { RecordingService } from './recording/recording-service';
import { webRtcEndpoints, whipHandler } from './video/webrtc-http';
import { WhipHub } from './video/whip-hub';

export interface RunIngestProcessOptions {
  /** The bus frames and health go to. Closed on shutdown: the process owns it. */
  bus: Bus;
  /** Cameras from the validated streams config; disabled ones are skipped. */
  cameras: readonly CameraConfig[];
  /** Default: createLogger('media-server'). */
  logger?: Logger;
  /** Runs after ingest and bus are closed on shutdown (close other resources the process owns). */
  onClosed?: () => Promise<void>;
  /** Where WebRTC cameras' WHIP publishers arrive. */
  whip?: WhipHub;
}

/**
 * Starts every enabled camera and drains on SIGTERM/SIGINT: stops the sources, awaits in-flight
 * publishes, closes the bus, exits.
 */
export async function runIngestProcess(options: RunIngestProcessOptions): Promise<IngestService> {
  const logger = options.logger ?? createLogger('media-server');
  const ffmpeg = await resolveFfmpeg();
  logger.info({ ffmpeg: ffmpeg.path, ffmpegOrigin: ffmpeg.origin, ffmpegVersion: ffmpeg.version, cameras: options.cameras.length }, 'ingest starting');
  const ingest = startIngest({ bus: options.bus, cameras: options.cameras, logger, ...(options.whip ? { whip: options.whip } : {}) });

  exitAfterDrainOnSignal(logger, async () => {
    await ingest.close();
    await options.whip?.close();
    await options.bus.close();
    await options.onClosed?.();
  });
  return ingest;
}

/**
 * Distributed mode: env → streams config (seeded into the shared store) → JetStream → ingest,
 * kept in step with the store's camera list so cameras added through the API start here too.
 */
export async function main(): Promise<IngestService> {
  const e = env();
  const logger = createLogger('media-server');
  const config = await loadStreamsConfig(e.CHRONOTRACE_CONFIG);
  const ports = await openPorts(e, 'chronotrace-media-server');
  await seedCamerasFromConfig(ports.store, config, logger);
  const catalog = new CameraCatalog(ports.store, logger.child({ component: 'catalog' }));
  await catalog.start();
  // WebRTC cameras publish here: the web process proxies /whip/* to this listener (MEDIA_URL).
  const whip = new WhipHub({ log: logger.child({ component: 'whip' }), network: webRtcNetworkOf(e) });
  const endpoints = webRtcEndpoints(
    { whip: whipHandler({ hub: whip, cameraSource: async (id) => (await ports.store.cameras.get(id))?.source ?? null, tokens: new PublishTokens(ports.store) }) },
    logger.child({ component: 'whip' }),
  );
  const http = createServer((req, res) => {
    void endpoints(req, res).then((handled) => {
      if (!handled) sendError(res, 404, 'the media server answers /whip/* only');
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(e.MEDIA_HTTP_PORT, e.MEDIA_HTTP_HOST, () => resolve());
  });
  logger.info({ host: e.MEDIA_HTTP_HOST, port: e.MEDIA_HTTP_PORT }, 'WHIP endpoint listening');
  // The redacted recording of every camera: one recorder process (this one) for the deployment.
  let recording: RecordingService | null = null;
  let statsPublisher: StageStatsPublisher | null = null;
  // MEDIA_STORE=s3: segments move to object storage once indexed, where every web replica reads them.
  const archive = e.RECORDING === 'on' ? await openArchive(e) : null;
  if (e.RECORDING === 'on') {
    const rec = new RecordingService({
      recordings: ports.store.recordings,
      cameras: () => catalog.list(),
      ffmpeg: resolveFfmpeg,
      root: mediaRootOf(e),
      log: logger.child({ component: 'recording' }),
      minFreeBytes: e.RECORDING_MIN_FREE_MB * 1024 ** 2,
      ...(archive ? { archive } : {}),
      // An upload's camera is created by a web process: its first frames may arrive before the next poll.
      refreshCameras: () => catalog.refresh(),
    });
    await rec.start(ports.bus);
    catalog.on('change', () => void rec.sync());
    recording = rec;
    // The web processes show each camera's recorder state from these.
    statsPublisher = new StageStatsPublisher(ports.bus, 'recording', instanceId(), () => rec.stageCounters(), logger, 2000, () => rec.states());
    statsPublisher.start();
  }
  const ingest = await runIngestProcess({ bus: ports.bus, cameras: [], logger, whip, onClosed: async () => {
    await statsPublisher?.close();
    await recording?.close();
    archive?.close();
    http.close();
    catalog.close();
    await ports.store.close();
  } });
  await new CameraReconciler(catalog, ingest, logger.child({ component: 'reconciler' })).start();
  return ingest;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    createLogger('media-server').fatal({ err: error }, 'ingest failed to start');
    process.exit(1);
  });
}
