import { pathToFileURL } from 'node:url';
import type { CameraConfig } from '@chronotrace/contracts';
import { createLogger, env, JetStreamBus, loadStreamsConfig, type Bus, type Logger } from '@chronotrace/platform';
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

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    void ingest
      .close()
      .then(() => options.bus.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return ingest;
}

/** Distributed mode: env → streams config → JetStream → ingest. */
export async function main(): Promise<IngestService> {
  const { CHRONOTRACE_CONFIG, NATS_URL, BUS_PREFIX } = env();
  const config = await loadStreamsConfig(CHRONOTRACE_CONFIG);
  const bus = await JetStreamBus.connect({ servers: NATS_URL, prefix: BUS_PREFIX, name: 'chronotrace-media-server' });
  return runIngestProcess({ bus, cameras: config.cameras });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    createLogger('media-server').fatal({ err: error }, 'ingest failed to start');
    process.exit(1);
  });
}
