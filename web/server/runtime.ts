import { join } from 'node:path';
import type { StreamsConfig } from '@chronotrace/contracts';
import { ActivityJudge, CameraCatalog, analyticsPartitionOf, createLogger, instanceId, matcherOptionsOf, mediaRootOf, openArchive, openKeyframeIndex, openPorts, webRtcNetworkOf, type Env, type Logger, type Ports, type VectorIndex } from '@chronotrace/platform';
import { CameraReconciler, DEFAULT_VIDEO_CODECS, DEFAULT_VIDEO_CONTAINERS, IngestService, LiveVideoService, RecordingService, VideoJobRunner, WhipHub, resolveFfmpeg } from '@chronotrace/media-server';
import { AnalyticsService, KeyframeIndexer, PrivacyService, calibrationOf, frameSimilarityOf, openEmbedder, type Embedder } from '@chronotrace/pipeline';
import { CameraService } from './camera-service';
import { QueryService } from './query-service';
import { WebhookDispatcher } from './webhook-dispatcher';
import { RedisFanout } from './redis-fanout';
import { WebServer } from './web-server';

export interface RuntimeOptions {
  env: Env;
  config: StreamsConfig;
  /** Ports to use instead of opening them from env (tests share one). The runtime then does not close them. */
  ports?: Ports;
  logger?: Logger;
}

/** How often the embedded runtime samples its components' counters for /api/health. */
export const ACTIVITY_SAMPLE_MS = 2_000;

/**
 * One ChronoTrace process. Embedded mode runs everything here (ingest → privacy → wall) on the
 * in-process bus and PGlite; distributed mode runs only the web part here, ingest and privacy
 * being their own processes on NATS JetStream and PostgreSQL. Same classes, same code path.
 */
export class Runtime {
  private closing: Promise<void> | undefined;

  private constructor(
    readonly ports: Ports,
    readonly web: WebServer,
    readonly cameras: CameraService,
    readonly catalog: CameraCatalog,
    readonly ingest: IngestService | null,
    readonly privacy: PrivacyService | null,
    readonly analytics: AnalyticsService | null,
    readonly queries: QueryService,
    readonly webhooks: WebhookDispatcher,
    readonly embedder: Embedder | null,
    /** Keyframe embeddings for search (an embedder is on): the indexer (embedded mode) and the index. */
    readonly search: { keyframes: KeyframeIndexer | null; vectors: VectorIndex | null },
    readonly video: LiveVideoService | null,
    readonly whip: WhipHub | null,
    readonly recording: RecordingService | null,
    readonly videoJobs: VideoJobRunner,
    private readonly reconciler: CameraReconciler | null,
    private readonly fanout: RedisFanout | null,
    private readonly ownsPorts: boolean,
    private readonly log: Logger,
    private readonly sampler: NodeJS.Timeout | undefined,
  ) {}

  static async start(o: RuntimeOptions): Promise<Runtime> {
    const log = o.logger ?? createLogger('runtime');
    const { env } = o;
    const instance = instanceId();
    const ports = o.ports ?? (await openPorts(env, `chronotrace-web-${instance}`));
    const started: { close(): unknown }[] = [];
    try {
      // MEDIA_STORE=s3: recorded media moves to object storage once written (the bucket is checked now).
      const archive = await openArchive(env);
      if (archive) {
        started.push(archive);
        log.info({ archive: archive.where }, 'recorded media is archived to object storage');
      }
      const cameras = new CameraService(ports.store, log.child({ component: 'cameras' }));
      await cameras.seedFromConfig(o.config);
      const catalog = new CameraCatalog(ports.store, log.child({ component: 'catalog' }));
      await catalog.start();
      started.push(catalog);
      cameras.onChange(() => void catalog.refresh());

      let ingest: IngestService | null = null;
      let privacy: PrivacyService | null = null;
      let reconciler: CameraReconciler | null = null;
      let analytics: AnalyticsService | null = null;
      let whip: WhipHub | null = null;
      let recording: RecordingService | null = null;
      const matcher = matcherOptionsOf(env);
      // One embedder per process (if any), shared by live matching and backtests.
      const embedder = await openEmbedder(env);
      if (embedder) {
        started.push(embedder);
        log.info({ embedder: embedder.name, version: embedder.version, dimensions: embedder.dimensions }, 'embedder on: free-text query words add a calibrated similarity term');
      }
      // With an embedder, tracks' best views are embedded for search into an index this process can share.
      let vectors: VectorIndex | null = null;
      let keyframes: KeyframeIndexer | null = null;
      if (embedder) {
        vectors = await openKeyframeIndex(env, `${embedder.name}@${embedder.version}`, embedder.dimensions);
        if (vectors) {
          started.push(vectors);
          log.info({ index: vectors.kind, vectors: await vectors.count() }, 'keyframe vector index open: search ranks free-text words by image similarity');
        } else log.warn('no vector index this process can share (distributed mode needs VECTOR_INDEX=qdrant): similarity searches are refused');
        if (vectors && env.MODE === 'embedded') {
          keyframes = new KeyframeIndexer({ embedder, index: vectors, logger: log.child({ component: 'keyframes' }) });
          started.push(keyframes);
        }
      }
      const queries = new QueryService({
        store: ports.store,
        matcher,
        log: log.child({ component: 'queries' }),
        ...(embedder ? { similarity: { embedder, calibration: calibrationOf(env) } } : {}),
      });
      const webhooks = new WebhookDispatcher({
        bus: ports.bus,
        webhooks: ports.store.webhooks,
        log: log.child({ component: 'webhooks' }),
        maxAttempts: env.WEBHOOK_MAX_ATTEMPTS,
        backoffMs: env.WEBHOOK_BACKOFF_MS,
        backoffMaxMs: env.WEBHOOK_BACKOFF_MAX_MS,
        ...(env.PUBLIC_URL ? { publicUrl: env.PUBLIC_URL } : {}),
      });
      started.push(webhooks);
      await webhooks.start();
      if (env.MODE === 'embedded') {
        analytics = new AnalyticsService({
          bus: ports.bus,
          store: ports.store,
          catalog,
          instance,
          partition: analyticsPartitionOf(env),
          matcher,
          retentionMs: env.SCENE_RETENTION_HOURS * 3600_000,
          summaryRetentionMs: env.SEARCH_RETENTION_DAYS * 86_400_000,
          logger: log.child({ component: 'analytics' }),
          reid: true,
          ...(embedder ? { similarity: frameSimilarityOf(embedder, env) } : {}),
          ...(keyframes ? { keyframes } : {}),
        });
        started.push(analytics);
        await analytics.start();
        const match = analytics.match;
        // In one process the match stage hears of query changes at once, not at its next poll.
        queries.onChange(() => void match.refreshQueries());
        const ffmpeg = await resolveFfmpeg();
        log.info({ ffmpeg: ffmpeg.path, origin: ffmpeg.origin, version: ffmpeg.version }, 'ffmpeg');
        privacy = new PrivacyService({
          bus: ports.bus,
          store: ports.store,
          catalog,
          instance,
          faceModel: env.PRIVACY_FACE_MODEL,
          modelCacheDir: join(env.DATA_DIR, 'models'),
          replicas: env.PRIVACY_REPLICAS,
          objectDetection: env.PRIVACY_OBJECT_DETECTION === 'on',
          logger: log.child({ component: 'privacy' }),
        });
        started.push(privacy);
        await privacy.start();
        // WebRTC cameras publish here (WHIP): ingest runs in this process.
        whip = new WhipHub({ log: log.child({ component: 'whip' }), network: webRtcNetworkOf(env) });
        started.push(whip);
        ingest = new IngestService({ bus: ports.bus, whip, logger: log.child({ component: 'ingest' }) });
        started.push(ingest);
        if (env.RECORDING === 'on') {
          const rec = new RecordingService({
            recordings: ports.store.recordings,
            cameras: () => catalog.list(),
            ffmpeg: resolveFfmpeg,
            root: mediaRootOf(env),
            log: log.child({ component: 'recording' }),
            minFreeBytes: env.RECORDING_MIN_FREE_MB * 1024 ** 2,
            ...(archive ? { archive } : {}),
          });
          started.push(rec);
          await rec.start(ports.bus);
          cameras.onChange(() => void catalog.refresh().then(() => rec.sync()));
          recording = rec;
        }
        reconciler = new CameraReconciler(catalog, ingest, log.child({ component: 'reconciler' }));
        started.push(reconciler);
        await reconciler.start();
      }
      let fanout: RedisFanout | null = null;
      if (env.MODE === 'distributed') {
        fanout = await RedisFanout.connect(env.REDIS_URL, log.child({ component: 'redis' }));
        started.push(fanout);
      }
      const ing = ingest;
      const priv = privacy;
      const anal = analytics;
      const rec = recording;
      // Embedded components are judged by what they did lately (frames in, redacted, tracked, pushed).
      const judge = new ActivityJudge();
      const webRef: { current?: WebServer } = {};
      const sample = (): void => {
        const cams = Object.values(ing?.toJSON().cameras ?? {});
        let processed = 0;
        let failures = 0;
        for (const c of Object.values(priv?.counters() ?? {})) {
          processed += c.processed;
          failures += c.failures;
        }
        const scene = anal?.toJSON().scene.cameras;
        const wall = webRef.current?.wall.toJSON();
        judge.add({
          at: Date.now(),
          camerasEnabled: cams.length,
          camerasLive: cams.filter((c) => c.state === 'live').length,
          ingestPublished: cams.reduce((n, c) => n + c.published, 0),
          privacyProcessed: processed,
          privacyFailures: failures,
          analyticsProcessed: scene ? Object.values(scene).reduce((n, c) => n + c.processed, 0) : null,
          wallOut: wall?.framesOut ?? 0,
          wallClients: wall?.clients ?? 0,
        });
      };
      let video: LiveVideoService | null = null;
      if (env.WEBRTC === 'on') {
        const v = new LiveVideoService({
          ffmpeg: resolveFfmpeg,
          log: log.child({ component: 'video' }),
          network: webRtcNetworkOf(env),
          maxViewers: env.WEBRTC_MAX_VIEWERS,
          cameraFps: async (id) => (await cameras.get(id))?.fps,
        });
        video = v;
        started.push(v);
        await v.start(ports.bus, instance);
      }
      // A removed camera's viewers, encoder and publisher go with it.
      if (video || whip) {
        const v = video;
        const w = whip;
        cameras.onChange(() => {
          void cameras.list().then(
            async (list) => {
              const ids = new Set(list.map((c) => c.id));
              for (const s of v?.stats() ?? []) if (!ids.has(s.camera)) await v?.forget(s.camera);
              for (const s of w?.stats() ?? []) if (!ids.has(s.camera)) await w?.forget(s.camera);
            },
            (e: unknown) => log.warn({ err: e }, 'could not check the cameras of live video'),
          );
        });
      }
      // Uploaded videos run through the pipeline from this process (in distributed mode too: they go on the bus).
      const runner = new VideoJobRunner({ bus: ports.bus, ffmpeg: await resolveFfmpeg(), log: log.child({ component: 'videos' }), fps: env.UPLOAD_FPS });
      started.push(runner);
      await runner.start(instance);
      const sampler = env.MODE === 'embedded' ? setInterval(sample, ACTIVITY_SAMPLE_MS) : undefined;
      sampler?.unref();
      if (sampler) started.push({ close: () => clearInterval(sampler) });
      const web = await WebServer.start({
        bus: ports.bus,
        store: ports.store,
        cameras,
        queries,
        webhooks,
        mode: env.MODE,
        instance,
        host: env.HOST,
        port: env.PORT,
        log: log.child({ component: 'web' }),
        ...(fanout ? { socketAdapter: fanout.adapter } : {}),
        video,
        whip,
        mediaUrl: env.MODE === 'distributed' ? env.MEDIA_URL : null,
        mediaRoot: mediaRootOf(env),
        archive,
        uploads: {
          runner,
          ffmpeg: resolveFfmpeg,
          limits: { maxBytes: env.UPLOAD_MAX_MB * 1024 ** 2, maxSeconds: env.UPLOAD_MAX_SECONDS, containers: DEFAULT_VIDEO_CONTAINERS, codecs: DEFAULT_VIDEO_CODECS },
          refreshCatalog: () => catalog.refresh(),
          ...(recording ? { finishRecording: (c: string) => recording!.finish(c), discardRecording: (c: string) => recording!.discard(c) } : {}),
        },
        recordingHealth: recording ? (c) => recording!.health(c) : null,
        ...(embedder ? { similarity: { embedder, index: vectors } } : {}),
        counters: {
          ...(ing ? { ingest: () => Object.fromEntries(Object.entries(ing.toJSON().cameras).map(([k, c]) => [k, c.published])) } : {}),
          ...(priv ? { privacy: () => priv.counters() } : {}),
        },
        components: () => {
          const v = judge.judge();
          return {
            ...(ing ? { ingest: v.ingest } : {}),
            ...(priv ? { privacy: v.privacy } : {}),
            ...(anal && v.analytics ? { analytics: { ...v.analytics, detail: `${v.analytics.detail}; ${anal.match.stats().core.matcher.queries} armed queries` } } : {}),
            ...(env.MODE === 'embedded' ? { wall: v.wall } : {}),
            ...(fanout ? { redis: fanout.health() } : {}),
            ...(rec ? { recording: recordingComponent(rec) } : {}),
          };
        },
      });
      webRef.current = web;
      return new Runtime(ports, web, cameras, catalog, ingest, privacy, analytics, queries, webhooks, embedder, { keyframes, vectors }, video, whip, recording, runner, reconciler, fanout, !o.ports, log, sampler);
    } catch (e) {
      for (const s of started.reverse()) await s.close();
      if (!o.ports) await ports.close();
      throw e;
    }
  }

  get url(): string {
    return this.web.url;
  }

  /** Drains in order: stop ingest (no new frames), finish in-flight redactions, tracking and matching, webhooks, close the wall, then the ports. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.sampler);
      this.reconciler?.close();
      this.catalog.close();
      await this.ingest?.close();
      await this.whip?.close();
      // After ingest: the recorders finish and index their open segments.
      await this.recording?.close();
      await this.privacy?.close();
      await this.analytics?.close();
      // After the scene stage: the last best views are embedded and the index saved.
      await this.search.keyframes?.close();
      await this.webhooks.close();
      // The web server before the embedder: a backtest or search in flight may still embed its text.
      await this.web.close();
      await this.videoJobs.close();
      await this.video?.close();
      await this.search.vectors?.close();
      await this.embedder?.close();
      await this.fanout?.close();
      if (this.ownsPorts) await this.ports.close();
      this.log.info('stopped');
    })();
    return this.closing;
  }
}

/** /api/health's view of the recorder: down when the disk is full, degraded when a camera's recorder keeps failing. */
function recordingComponent(rec: RecordingService): { state: 'ok' | 'degraded' | 'down'; detail: string } {
  const st = rec.stats();
  if (st.diskFull) return { state: 'down', detail: `disk full: ${st.freeBytes === null ? '?' : Math.round(st.freeBytes / 1024 ** 2)} MB free` };
  const failing = Object.entries(st.cameras).filter(([, c]) => c.lastError !== null);
  const n = Object.keys(st.cameras).length;
  if (failing.length > 0) return { state: 'degraded', detail: `${failing.length} of ${n} cameras: ${failing[0]![1].lastError}` };
  return { state: 'ok', detail: `${n} cameras recording` };
}
