import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { SystemHealth, ComponentState } from '@chronotrace/contracts';
import { MediaFiles, type Bus, type Logger, type ObjectStore, type Store, type VectorIndex } from '@chronotrace/platform';
import { OpenAccessPolicy, type AccessPolicy } from './auth';
import type { CameraService } from './camera-service';
import { HealthBoard } from './health-board';
import { createApi, toCameraView } from './http-api';
import { historyRoutes } from './history-api';
import { VideoService, type VideoServiceOptions } from './video-service';
import { ExportService } from './export-service';
import { chromiumPdfPrinter } from './pdf-printer';
import { ActivityService, IdentityService, SearchService, type Embedder } from '@chronotrace/pipeline';
import type { RecordingHealth } from '@chronotrace/contracts';
import { sendError } from '@chronotrace/platform';
import { LiveWall } from './live-wall';
import { Metrics, type MetricSources } from './metrics';
import type { QueryService } from './query-service';
import type { WebhookDispatcher } from './webhook-dispatcher';
import type { LiveVideoService, WhipHub } from '@chronotrace/media-server';
import { PublishTokens } from '@chronotrace/media-server';
import { createWebRtcApi } from './webrtc-api';

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export const WEB_BUILD_HANDLER = fileURLToPath(new URL('../build/handler.js', import.meta.url));

export interface WebServerOptions {
  bus: Bus;
  store: Store;
  cameras: CameraService;
  queries: QueryService;
  webhooks: WebhookDispatcher;
  mode: 'embedded' | 'distributed';
  instance: string;
  host: string;
  port: number;
  log: Logger;
  policy?: AccessPolicy;
  /** Extra components for /api/health (ingest, privacy… in embedded mode). */
  components?: () => Record<string, { state: ComponentState; detail?: string }>;
  /** Per-camera counters of the stages in this process, for /metrics (embedded mode). */
  counters?: Pick<MetricSources, 'ingest' | 'privacy'>;
  /** Redacted live video over WebRTC (WHEP); null or absent: off (the wall falls back to JPEG frames). */
  video?: LiveVideoService | null;
  /** WHIP ingest of WebRTC cameras in this process (embedded mode); null or absent: /whip answers 503. */
  whip?: WhipHub | null;
  /** Where WHIP requests are proxied when ingest runs elsewhere (distributed mode), or null. */
  mediaUrl?: string | null;
  /** Where recordings are (the recorder's media root; shared storage in distributed mode). */
  mediaRoot: string;
  /** MEDIA_STORE=s3: where recorded media and exports are archived (read there once gone from the media root). */
  archive?: ObjectStore | null;
  /** Uploaded videos: the job runner and limits (the service is built here, with the wall to tell). */
  uploads: Pick<VideoServiceOptions, 'runner' | 'limits' | 'ffmpeg' | 'refreshCatalog' | 'finishRecording' | 'discardRecording'>;
  /** The recorder's state of a camera when it runs in this process, else null. */
  recordingHealth?: ((camera: string) => Promise<RecordingHealth>) | null;
  /** An embedder is on: search ranks a query's free-text words by image similarity in `index` (null: such searches are refused). */
  similarity?: { embedder: Embedder; index: VectorIndex | null };
  /** Socket.io adapter factory (Redis in distributed mode). */
  socketAdapter?: Parameters<LiveWall['io']['adapter']>[0];
}

const VERSION = '0.1.0';

/** The web process: REST API, Socket.io live wall and the SvelteKit UI on one HTTP server. */
export class WebServer {
  readonly http: HttpServer;
  readonly health: HealthBoard;
  readonly wall: LiveWall;
  readonly metrics: Metrics;
  private readonly startedAt = Date.now();
  private closed = false;
  private unsubscribe: (() => void)[] = [];
  readonly videos: VideoService;
  readonly exports: ExportService;

  private constructor(private readonly o: WebServerOptions, ui: NodeHandler | null) {
    const tokens = new PublishTokens(o.store);
    const media = new MediaFiles(o.mediaRoot, o.archive ?? null);
    this.health = new HealthBoard(o.bus, o.store, o.instance, o.log.child({ component: 'health' }));
    const search = new SearchService({
      store: o.store,
      compiler: () => o.queries.compiler(),
      cameras: async () => (await o.cameras.list()).map((c) => ({ id: c.id, name: c.name, timeZone: c.timeZone })),
      ...(o.similarity ? { similarity: o.similarity } : {}),
    });
    this.videos = new VideoService({
      ...o.uploads,
      cameras: o.cameras,
      mediaRoot: o.mediaRoot,
      media,
      log: o.log.child({ component: 'videos' }),
      broadcast: (job) => this.wall.io.emit('videoJob', job),
      store: o.store,
      instance: o.instance,
      // One process runs every job in embedded mode: any job still processing at start died with the last one.
      staleMs: o.mode === 'embedded' ? 0 : 60_000,
    });
    this.exports = new ExportService({
      store: o.store,
      cameras: o.cameras,
      ffmpeg: o.uploads.ffmpeg,
      media,
      log: o.log.child({ component: 'exports' }),
      printPdf: chromiumPdfPrinter(),
    });
    const api = createApi({
      videos: this.videos,
      exports: this.exports,
      media,
      identities: new IdentityService({ store: o.store }),
      activity: new ActivityService({ store: o.store }),
      history: historyRoutes({ store: o.store, search, media, recordingHealth: o.recordingHealth ?? null, reportedRecording: (c) => this.health.recordingState(c) }),
      cameras: o.cameras,
      health: this.health,
      snapshot: (c) => this.wall.snapshot(c),
      system: () => this.system(),
      policy: o.policy ?? new OpenAccessPolicy(),
      log: o.log.child({ component: 'api' }),
      queries: o.queries,
      alerts: o.store.alerts,
      scene: o.store.scene,
      webhooks: o.webhooks,
      onAlertAck: (ack) => this.wall.broadcastAlertAck(ack),
      alertSnapshot: (id) => this.wall.alertSnapshot(id),
      metrics: () => this.metrics,
      tokens,
    });
    const webrtc = createWebRtcApi({
      video: o.video ?? null,
      whip: o.whip ?? null,
      mediaUrl: o.mediaUrl ?? null,
      cameras: o.cameras,
      tokens,
      policy: o.policy ?? new OpenAccessPolicy(),
      log: o.log.child({ component: 'webrtc' }),
    });
    // The app's listener goes on before Socket.io attaches (in LiveWall): Socket.io wraps the listeners
    // it finds and answers /socket.io/ itself, so nothing else may write to those responses.
    this.http = createServer((req: IncomingMessage, res: ServerResponse) => {
      void (async () => (await webrtc(req, res)) || (await api(req, res)))().then((handled) => {
        if (handled) return;
        if (ui) ui(req, res, () => sendError(res, 404, 'not found'));
        else {
          res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' });
          res.end('The live wall is not built: run `npm run build` (npm start does it for you).\n');
        }
      });
    });
    const views = async () => (await o.cameras.list()).map((r) => toCameraView(r, this.health));
    this.wall = new LiveWall(this.http, o.bus, o.store, this.health, views, o.instance, o.log.child({ component: 'wall' }));
    this.health.deliveredFrom((camera) => this.wall.deliveredFps(camera));
    this.metrics = new Metrics({
      cameras: async () => (await o.cameras.list()).map((c) => c.id),
      health: (camera) => this.health.get(camera),
      delivered: () => this.wall.deliveredTotals(),
      ...(o.video ? { video: () => o.video!.stats() } : {}),
      ...(o.whip ? { publishers: () => o.whip!.stats() } : {}),
      ...o.counters,
    });
    this.wall.observe(this.metrics);
    if (o.socketAdapter) this.wall.io.adapter(o.socketAdapter);
  }

  static async start(o: WebServerOptions): Promise<WebServer> {
    let ui: NodeHandler | null = null;
    if (existsSync(WEB_BUILD_HANDLER)) {
      const mod = (await import(pathToFileURL(WEB_BUILD_HANDLER).href)) as { handler: NodeHandler };
      ui = mod.handler;
    } else {
      o.log.warn({ path: WEB_BUILD_HANDLER }, 'live wall build not found; serving the API only');
    }
    const server = new WebServer(o, ui);
    await server.health.start();
    await server.wall.start();
    await server.videos.start();
    // Exports take seconds to minutes: in distributed mode one older than an hour is no longer being made.
    await server.exports.start(o.mode === 'embedded' ? Date.now() : Date.now() - 3_600_000);
    server.unsubscribe.push(
      o.cameras.onChange(() => void server.wall.broadcastCameras()),
      o.queries.onChange(() => {
        o.queries.list().then(
          (list) => server.wall.broadcastQueries(list),
          (e: unknown) => o.log.warn({ err: e }, 'could not broadcast the query list'),
        );
      }),
    );
    await new Promise<void>((resolve, reject) => {
      server.http.once('error', reject);
      server.http.listen(o.port, o.host, () => {
        server.http.off('error', reject);
        resolve();
      });
    });
    o.log.info({ url: server.url }, 'web server listening');
    return server;
  }

  get port(): number {
    return (this.http.address() as AddressInfo).port;
  }

  get url(): string {
    const host = this.o.host.includes(':') ? `[${this.o.host}]` : this.o.host;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${this.port}`;
  }

  async system(): Promise<SystemHealth> {
    const [busOk, storeOk] = await Promise.all([
      this.o.bus.ping().catch(() => false),
      this.o.store.ping().catch(() => false),
    ]);
    const components: SystemHealth['components'] = {
      bus: { state: busOk ? 'ok' : 'down', detail: this.o.bus.kind },
      store: { state: storeOk ? 'ok' : 'down', detail: this.o.store.kind },
      wall: { state: 'ok', detail: `${this.wall.toJSON().clients} clients` },
      ...(this.o.mode === 'distributed' ? this.remoteComponents() : {}),
      ...(this.o.components?.() ?? {}),
    };
    const cameras = (await this.o.cameras.list().catch(() => [])).map((c) => this.health.get(c.id));
    const states = Object.values(components).map((c) => c.state);
    let status: ComponentState = states.includes('down') ? 'down' : states.includes('degraded') ? 'degraded' : 'ok';
    if (status === 'ok' && cameras.some((c) => c.state === 'down' || c.state === 'stalled')) status = 'degraded';
    return { status, mode: this.o.mode, version: VERSION, uptimeS: Math.round((Date.now() - this.startedAt) / 1000), components, cameras };
  }

  /** In distributed mode ingest and privacy run elsewhere: judge them by what they publish on the bus. */
  private remoteComponents(): SystemHealth['components'] {
    const { stages, ingestAt } = this.health.liveness();
    const privacy = stages.privacy ?? 0;
    const analytics = stages.match ?? 0;
    const ingestAge = ingestAt === null ? null : Date.now() - ingestAt;
    return {
      privacy: privacy > 0 ? { state: 'ok', detail: `${privacy} replicas reporting` } : { state: 'down', detail: 'no privacy replica has reported in 30 s: no frame reaches the wall' },
      analytics:
        analytics > 0
          ? { state: 'ok', detail: `${analytics} partitions reporting` }
          : { state: 'degraded', detail: 'no analytics process has reported in 30 s: standing queries do not fire' },
      ingest:
        ingestAge !== null && ingestAge < 30_000
          ? { state: 'ok', detail: 'reporting' }
          : { state: 'degraded', detail: ingestAge === null ? 'no ingest report yet' : `last report ${Math.round(ingestAge / 1000)} s ago` },
    };
  }

  /** Stops accepting, closes sockets and consumers. Idempotent. The bus and store belong to the caller. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe) u();
    await this.videos.close();
    await this.exports.close();
    await this.wall.close();
    await this.health.close();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }
}
