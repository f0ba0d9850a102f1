import { pathToFileURL } from 'node:url';
import type { CameraConfig } from '@chronotrace/contracts';
import { CameraCatalog, createLogger, env, exitAfterDrainOnSignal, loadStreamsConfig, openPorts, seedCamerasFromConfig, type Bus, type Logger } from '@chronotrace/platform';
import { CameraReconciler } from './camera-reconciler';
import { resolveFfmpeg } from './ffmpeg-binary';
import { startIngest } from './index';
import type { IngestService } from './ingest-service';

export interface RunIngestProcessOptions {
  /** The bus frames and health go to. Closed on shutdown: the process owns it. */
  bus: Bus;
  /** Cameras from the validated streams config; disabled ones are skipped. */
  cameras: readonly CameraConfig[];
  /** Default: createLogger('media-server'). */
  logger?: Logger;
  /** Runs after ingest and bus are closed on shutdown (close other resources the process owns). */
  onClosed?: () => Promise<void>;
}

/**
 * Starts every enabled camera and drains on SIGTERM/SIGINT: stops the sources, awaits in-flight
 * publishes, closes the bus, exits.
 */
export async function runIngestProcess(options: RunIngestProcessOptions): Promise<IngestService> {
  const logger = options.logger ?? createLogger('media-server');
  const ffmpeg = await resolveFfmpeg();
  logger.info({ ffmpeg: ffmpeg.path, ffmpegOrigin: ffmpeg.origin, ffmpegVersion: ffmpeg.version, cameras: options.cameras.length }, 'ingest starting');
  const ingest = startIngest({ bus: options.bus, cameras: options.cameras, logger });

  exitAfterDrainOnSignal(logger, async () => {
    await ingest.close();
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
  const ingest = await runIngestProcess({ bus: ports.bus, cameras: [], logger, onClosed: async () => {
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
