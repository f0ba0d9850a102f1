import type { CameraConfig, CameraHealth, FrameMeta } from '@chronotrace/contracts';
import { createLogger, type Bus, type Logger, type PublishResult } from '@chronotrace/platform';
import { CameraSupervisor, type CameraFrame, type CameraSupervisorOptions, type CameraSupervisorStats } from './camera-supervisor';
import { redactCredentials } from './ffmpeg-frame-source';
import { ffmpegSourceFactory, type FrameSourceFactory, type SourceCameraConfig } from './frame-source-factory';
import type { WhipHub } from './video/whip-hub';

export interface IngestServiceOptions {
  /** Where frames ('frames.raw') and health ('health') go. Not owned: close() leaves it open. */
  bus: Bus;
  /** How often every camera's health is published besides on each change. Default 2000 ms. */
  healthIntervalMs?: number;
  /** Frames of one camera still being published; more are dropped (and counted) so a slow bus cannot grow memory. Default 8. */
  maxInFlightPerCamera?: number;
  /** Source factory for every camera. Default: ffmpeg sources. */
  createSource?: FrameSourceFactory;
  /** Where WebRTC cameras' WHIP publishers arrive (with the default source factory). */
  whip?: WhipHub;
  /** Watchdog and backoff settings for every camera (camera and logger are filled in). */
  supervisor?: Omit<CameraSupervisorOptions, 'camera' | 'createSource' | 'logger'>;
  /** Default: createLogger('media-server.ingest'). */
  logger?: Logger;
}

export const DEFAULT_HEALTH_INTERVAL_MS = 2000;
export const DEFAULT_MAX_IN_FLIGHT_PER_CAMERA = 8;

/** The config of one camera as ingest uses it (a full CameraConfig fits). */
export type IngestCameraConfig = SourceCameraConfig & Partial<Pick<CameraConfig, 'name' | 'enabled'>>;

export type AddCameraResult = { ok: true } | { ok: false; reason: 'duplicate' | 'closed'; detail: string };

export interface IngestCameraStats extends CameraSupervisorStats {
  published: number;
  /** Frames larger than the bus max payload: not published, counted. */
  tooLarge: number;
  /** Frames dropped because maxInFlightPerCamera publishes were pending. */
  droppedBackpressure: number;
  publishErrors: number;
  lastPublishError: string | null;
}

interface IngestCamera {
  config: IngestCameraConfig;
  supervisor: CameraSupervisor;
  logger: Logger;
  inFlight: number;
  published: number;
  tooLarge: number;
  droppedBackpressure: number;
  publishErrors: number;
  lastPublishError: string | null;
  healthSeq: number;
}

/**
 * Owns the cameras of this process: one CameraSupervisor each. Publishes each frame to 'frames.raw'
 * (meta FrameMeta, body the JPEG, msgId the frameId) and each camera's health to 'health' on every
 * change and every healthIntervalMs. close() stops the sources and waits for in-flight publishes.
 */
export class IngestService {
  readonly #bus: Bus;
  readonly #healthIntervalMs: number;
  readonly #maxInFlight: number;
  readonly #createSource: FrameSourceFactory | undefined;
  readonly #supervisorOptions: IngestServiceOptions['supervisor'];
  readonly #logger: Logger;
  readonly #cameras = new Map<string, IngestCamera>();
  readonly #pending = new Set<Promise<void>>();
  readonly #healthTimer: NodeJS.Timeout;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: IngestServiceOptions) {
    this.#bus = options.bus;
    this.#healthIntervalMs = options.healthIntervalMs ?? DEFAULT_HEALTH_INTERVAL_MS;
    this.#maxInFlight = options.maxInFlightPerCamera ?? DEFAULT_MAX_IN_FLIGHT_PER_CAMERA;
    this.#createSource = options.createSource ?? (options.whip ? ffmpegSourceFactory({ whip: options.whip }) : undefined);
    this.#supervisorOptions = options.supervisor;
    this.#logger = options.logger ?? createLogger('media-server.ingest');
    this.#healthTimer = setInterval(() => this.#publishAllHealth(), this.#healthIntervalMs);
    this.#healthTimer.unref();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Starts ingesting a camera. A duplicate id is refused as a value, not thrown. */
  addCamera(config: IngestCameraConfig): AddCameraResult {
    if (this.#closed) return { ok: false, reason: 'closed', detail: 'ingest service is closed' };
    if (this.#cameras.has(config.id)) return { ok: false, reason: 'duplicate', detail: `camera "${config.id}" is already ingested` };
    const logger = this.#logger.child({ camera: config.id });
    const supervisor = new CameraSupervisor({
      ...this.#supervisorOptions,
      camera: { id: config.id, source: config.source, fps: config.fps, width: config.width },
      ...(this.#createSource ? { createSource: this.#createSource } : {}),
      logger,
    });
    const camera: IngestCamera = {
      config,
      supervisor,
      logger,
      inFlight: 0,
      published: 0,
      tooLarge: 0,
      droppedBackpressure: 0,
      publishErrors: 0,
      lastPublishError: null,
      healthSeq: 0,
    };
    this.#cameras.set(config.id, camera);
    supervisor.on('frame', (frame) => this.#onFrame(camera, frame));
    supervisor.on('health', (health) => this.#publishHealth(camera, health));
    supervisor.once('@close', () => {
      if (this.#cameras.get(config.id) === camera) this.#cameras.delete(config.id);
    });
    logger.info({ source: redactCredentials(config.source), fps: config.fps, width: config.width }, 'camera added');
    supervisor.start();
    return { ok: true };
  }

  /** Stops a camera and waits for its source to exit. False when the id is unknown. */
  async removeCamera(id: string): Promise<boolean> {
    const camera = this.#cameras.get(id);
    if (!camera) return false;
    this.#cameras.delete(id);
    await camera.supervisor.close();
    camera.logger.info('camera removed');
    return true;
  }

  /** Every camera with its config and current health. */
  list(): { id: string; config: IngestCameraConfig; health: CameraHealth }[] {
    const now = Date.now();
    return [...this.#cameras.values()].map((c) => ({ id: c.config.id, config: c.config, health: c.supervisor.health(now) }));
  }

  health(id: string): CameraHealth | undefined {
    return this.#cameras.get(id)?.supervisor.health();
  }

  /** The supervisor of a camera (for diagnostics and fault tests). */
  camera(id: string): CameraSupervisor | undefined {
    return this.#cameras.get(id)?.supervisor;
  }

  /** Stops every source, then waits for the publishes in flight. Leaves the bus open. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  toJSON(): { closed: boolean; inFlight: number; cameras: Record<string, IngestCameraStats> } {
    const cameras: Record<string, IngestCameraStats> = {};
    for (const [id, c] of this.#cameras) {
      cameras[id] = {
        ...c.supervisor.toJSON(),
        published: c.published,
        tooLarge: c.tooLarge,
        droppedBackpressure: c.droppedBackpressure,
        publishErrors: c.publishErrors,
        lastPublishError: c.lastPublishError,
      };
    }
    return { closed: this.#closed, inFlight: this.#pending.size, cameras };
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#healthTimer);
    const cameras = [...this.#cameras.values()];
    // Supervisors publish their 'stopped' health as they close; those publishes are tracked too.
    await Promise.all(cameras.map((c) => c.supervisor.close()));
    this.#cameras.clear();
    while (this.#pending.size > 0) await Promise.all([...this.#pending]);
    this.#logger.info({ cameras: cameras.length }, 'ingest closed');
  }

  #onFrame(camera: IngestCamera, frame: CameraFrame): void {
    if (camera.inFlight >= this.#maxInFlight) {
      camera.droppedBackpressure += 1;
      return;
    }
    const frameId = `${frame.camera}:${frame.sessionStart}:${frame.seq}`;
    const meta: FrameMeta = {
      camera: frame.camera,
      frameId,
      seq: frame.seq,
      capturedAt: frame.capturedAt,
      width: frame.width,
      height: frame.height,
    };
    camera.inFlight += 1;
    this.#track(
      this.#publish(() => this.#bus.publish('frames.raw', frame.camera, { meta, body: frame.jpeg }, { msgId: frameId })).then((result) => {
        camera.inFlight -= 1;
        if (result.ok) {
          camera.published += 1;
        } else if (result.reason === 'too-large') {
          camera.tooLarge += 1;
          // Log the first and then every 100th: a misconfigured width would otherwise flood the log.
          if (camera.tooLarge % 100 === 1) camera.logger.warn({ frameId, bytes: frame.jpeg.length, detail: result.detail, tooLarge: camera.tooLarge }, 'frame over the bus max payload, not published');
        } else {
          camera.publishErrors += 1;
          camera.lastPublishError = `${result.reason}: ${result.detail}`;
          if (camera.publishErrors % 100 === 1) camera.logger.warn({ frameId, reason: result.reason, detail: result.detail }, 'frame publish failed');
        }
      }),
    );
  }

  #publishHealth(camera: IngestCamera, health: CameraHealth): void {
    const msgId = `${health.camera}:${camera.supervisor.sessionStart}:health:${camera.healthSeq++}`;
    this.#track(
      this.#publish(() => this.#bus.publish('health', health.camera, { meta: health }, { msgId })).then((result) => {
        if (!result.ok && result.reason !== 'closed') camera.logger.warn({ reason: result.reason, detail: result.detail }, 'health publish failed');
      }),
    );
  }

  #publishAllHealth(): void {
    const now = Date.now();
    for (const camera of this.#cameras.values()) this.#publishHealth(camera, camera.supervisor.health(now));
  }

  /** Runs a publish; a throw (a programming error in a bus) becomes an 'error' result, never an unhandled rejection. */
  async #publish(run: () => Promise<PublishResult>): Promise<PublishResult> {
    try {
      return await run();
    } catch (error) {
      return { ok: false, reason: 'error', detail: error instanceof Error ? error.message : String(error) };
    }
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((error: unknown) => this.#logger.error({ err: error }, 'publish bookkeeping failed')).finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }
}
