import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type {
  Alert,
  AlertMessage,
  CameraView,
  StandingQuery,
  ClientToServerEvents,
  InterServerEvents,
  RedactedFrameMeta,
  ServerToClientEvents,
  SocketData,
} from '@chronotrace/contracts';
import { newestPerCamera, type Bus, type Consumer, type Logger, type Store } from '@chronotrace/platform';
import type { HealthBoard } from './health-board';

export type WallServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
type WallSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface LiveWallOptions {
  /** How often a camera's latest redacted frame is written to the store for /snapshot.jpg after restarts (the wall serves its newest frame from memory). Default 5000 ms. */
  snapshotEveryMs?: number;
  /** Largest Socket.io message accepted from a browser. Default 16 KiB (browsers only send small commands). */
  maxClientMessageBytes?: number;
}

interface Latest {
  meta: RedactedFrameMeta;
  jpeg: Uint8Array;
}

const ALL_ROOM = 'all-cameras';
const ALERT_SNAPSHOTS_KEPT = 128;
const roomOf = (camera: string): string => `camera:${camera}`;
/** Sockets that play a camera as WebRTC video: they get its frames' metadata, not the JPEG. */
const videoRoomOf = (camera: string): string => `video:${camera}`;
/** What the wall tells about each frame it pushes and each alert it receives. */
export interface WallObserver {
  frame(meta: RedactedFrameMeta, at: number): void;
  alert(alert: AlertMessage): void;
}

/** Frames of one camera pushed from one bus batch at most (older ones are skipped to stay live). */
export const WALL_FRAMES_PER_BATCH = 4;
/** The delivered rate of a camera is counted over this window. */
export const DELIVERED_WINDOW_MS = 5_000;
/** A socket's watch commands are applied at most this often (the newest wins; the rest cost nothing). */
export const WATCH_APPLY_GAP_MS = 50;

/** One socket's wish (the newest `watch`) and the loop that applies it. */
interface WatchState {
  want: string[] | null;
  /** Cameras the client plays as video (metadata only). */
  video: string[];
  /** The client sent a watch (else it gets every camera once connected). */
  asked: boolean;
  dirty: boolean;
  applying: boolean;
  timer: NodeJS.Timeout | undefined;
  lastApplied: number;
}

/**
 * Pushes redacted frames and camera health to browsers over Socket.io. Each web replica
 * consumes every redacted frame itself (its own durable) and emits to its own sockets only,
 * keeping the newest frame per camera when it falls behind.
 */
export class LiveWall {
  readonly io: WallServer;
  private readonly latest = new Map<string, Latest>();
  private readonly lastSnapshotWrite = new Map<string, number>();
  private consumer: Consumer | undefined;
  private alertConsumer: Consumer | undefined;
  private linkConsumer: Consumer | undefined;
  private alertsOut = 0;
  /** Snapshots of the latest alerts, served until (and in case) the store has them. */
  private readonly alertSnapshots = new Map<string, Uint8Array>();
  private closed = false;
  private framesOut = 0;
  private observer: WallObserver | undefined;
  /** Push times per camera within the last DELIVERED_WINDOW_MS, and cumulative pushes. */
  private readonly delivered = new Map<string, number[]>();
  private readonly deliveredTotal = new Map<string, number>();
  private watchEvents = 0;
  private watchApplied = 0;
  /** Each connected socket's watch state (for the pending count). */
  private readonly watchStates = new Set<WatchState>();
  private skipped = 0;

  constructor(
    http: HttpServer,
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly health: HealthBoard,
    private readonly cameraViews: () => Promise<CameraView[]>,
    private readonly instance: string,
    private readonly log: Logger,
    private readonly options: LiveWallOptions = {},
  ) {
    this.io = new Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>(http, {
      maxHttpBufferSize: options.maxClientMessageBytes ?? 16 * 1024,
      serveClient: false,
    });
    this.io.on('connection', (socket) => void this.onConnection(socket));
    this.health.on('health', (h) => this.io.local.emit('health', h));
  }

  async start(): Promise<void> {
    this.consumer = await this.bus.consume(
      'frames.redacted',
      { durable: `web-wall-${this.instance}`, batch: 32, deliverFrom: 'new', ackWaitMs: 5_000, expireAfterIdleMs: 5 * 60_000 },
      async (msgs) => {
        // A smooth wall shows every frame; only a camera more than WALL_FRAMES_PER_BATCH behind skips.
        const { keep, skipped } = newestPerCamera(msgs, WALL_FRAMES_PER_BATCH);
        for (const m of skipped) m.ack();
        this.skipped += skipped.length;
        for (const m of keep) {
          const body = m.envelope.body;
          if (body) this.push(m.envelope.meta, body);
          m.ack();
        }
      },
    );
    // Every replica pushes every alert to its own browsers; alerts are never skipped.
    this.alertConsumer = await this.bus.consume(
      'alerts',
      { durable: `web-alerts-${this.instance}`, batch: 64, deliverFrom: 'new', ackWaitMs: 5_000, expireAfterIdleMs: 5 * 60_000 },
      async (msgs) => {
        for (const m of msgs) {
          const alert: Alert = { ...m.envelope.meta, ack: null };
          const body = m.envelope.body;
          if (body) {
            this.alertSnapshots.set(alert.id, body);
            if (this.alertSnapshots.size > ALERT_SNAPSHOTS_KEPT) this.alertSnapshots.delete(this.alertSnapshots.keys().next().value!);
          }
          this.io.local.emit('alert', alert);
          this.alertsOut++;
          this.observer?.alert(m.envelope.meta);
          m.ack();
        }
      },
    );
    // A person walked from one camera to another: every replica tells its own browsers (the wall shows the handoff).
    this.linkConsumer = await this.bus.consume(
      'links',
      { durable: `web-links-${this.instance}`, batch: 64, deliverFrom: 'new', ackWaitMs: 5_000, expireAfterIdleMs: 5 * 60_000 },
      async (msgs) => {
        for (const m of msgs) {
          this.io.local.emit('handoff', m.envelope.meta);
          m.ack();
        }
      },
    );
  }

  /** The snapshot of a recent alert this replica pushed, or null. */
  alertSnapshot(id: string): Uint8Array | null {
    return this.alertSnapshots.get(id) ?? null;
  }

  /** Tell every browser (every replica, through the adapter) an alert was acknowledged. */
  broadcastAlertAck(ack: { id: string; by: string; at: number }): void {
    this.io.emit('alertAck', ack);
  }

  /** Tell every browser the standing queries changed. */
  broadcastQueries(queries: StandingQuery[]): void {
    this.io.emit('queries', queries);
  }

  /** The latest redacted frame this replica has seen, else the one kept in the store. */
  async snapshot(camera: string): Promise<Latest | null> {
    const mem = this.latest.get(camera);
    if (mem) return mem;
    const stored = await this.store.snapshots.getLatest(camera);
    return stored ? { meta: stored.meta, jpeg: stored.jpeg } : null;
  }

  /** Told of every frame pushed and every alert received (the /metrics histograms). */
  observe(observer: WallObserver): void {
    this.observer = observer;
  }

  /** Redacted frames per second pushed for a camera over the last DELIVERED_WINDOW_MS. */
  deliveredFps(camera: string): number {
    const times = this.delivered.get(camera);
    if (!times) return 0;
    const since = Date.now() - DELIVERED_WINDOW_MS;
    while (times.length > 0 && (times[0] as number) < since) times.shift();
    return Math.round((times.length / (DELIVERED_WINDOW_MS / 1000)) * 10) / 10;
  }

  /** Cumulative frames pushed per camera (for /metrics). */
  deliveredTotals(): ReadonlyMap<string, number> {
    return this.deliveredTotal;
  }

  private countDelivered(camera: string): void {
    const now = Date.now();
    let times = this.delivered.get(camera);
    if (!times) this.delivered.set(camera, (times = []));
    times.push(now);
    while (times.length > 0 && (times[0] as number) < now - DELIVERED_WINDOW_MS) times.shift();
    this.deliveredTotal.set(camera, (this.deliveredTotal.get(camera) ?? 0) + 1);
  }

  /** Tell every browser (on every replica, through the adapter) the camera list changed. */
  async broadcastCameras(): Promise<void> {
    this.io.emit('cameras', await this.views());
  }

  /** Uploaded videos' virtual cameras: not on the wall, so their frames go only to a socket that asks for that camera. */
  private readonly uploads = new Set<string>();
  private readonly known = new Set<string>();
  private reading: Promise<unknown> | null = null;
  private lastRead = 0;

  private async views(): Promise<CameraView[]> {
    this.lastRead = Date.now();
    const views = await this.cameraViews();
    this.uploads.clear();
    this.known.clear();
    for (const v of views) {
      this.known.add(v.id);
      if (v.origin === 'upload') this.uploads.add(v.id);
    }
    return views;
  }

  forget(camera: string): void {
    this.latest.delete(camera);
    this.delivered.delete(camera);
    this.lastSnapshotWrite.delete(camera);
  }

  toJSON(): { clients: number; framesOut: number; skipped: number; alertsOut: number; watchEvents: number; watchApplied: number; watchPending: number } {
    let watchPending = 0;
    for (const w of this.watchStates) if (w.dirty || w.applying) watchPending++;
    return { clients: this.io.engine.clientsCount, framesOut: this.framesOut, skipped: this.skipped, alertsOut: this.alertsOut, watchEvents: this.watchEvents, watchApplied: this.watchApplied, watchPending };
  }

  private push(meta: RedactedFrameMeta, jpeg: Uint8Array): void {
    const prev = this.latest.get(meta.camera);
    if (prev && prev.meta.capturedAt > meta.capturedAt) return;
    this.latest.set(meta.camera, { meta, jpeg });
    const video = videoRoomOf(meta.camera);
    // A camera made by another replica (an upload): learn what it is.
    if (!this.known.has(meta.camera) && !this.reading && Date.now() - this.lastRead > 2_000) {
      this.reading = this.views()
        .catch((e: unknown) => this.log.warn({ err: e }, 'could not read the camera list'))
        .finally(() => (this.reading = null));
    }
    // An upload runs faster than real time: its frames are not pushed to every wall.
    (this.uploads.has(meta.camera) ? this.io.local.to(roomOf(meta.camera)) : this.io.local.to(ALL_ROOM).to(roomOf(meta.camera))).except(video).emit('frame', { meta, jpeg });
    this.io.local.to(video).emit('frameMeta', meta);
    this.framesOut++;
    this.countDelivered(meta.camera);
    this.observer?.frame(meta, Date.now());
    const now = Date.now();
    if (now - (this.lastSnapshotWrite.get(meta.camera) ?? 0) >= (this.options.snapshotEveryMs ?? 5000)) {
      this.lastSnapshotWrite.set(meta.camera, now);
      this.store.snapshots.putLatest({ meta, jpeg }).catch((e: unknown) => this.log.warn({ err: e, camera: meta.camera }, 'could not store snapshot'));
    }
  }

  private async onConnection(socket: WallSocket): Promise<void> {
    socket.data.watch = null;
    const state: WatchState = { want: null, video: [], asked: false, dirty: false, applying: false, timer: undefined, lastApplied: 0 };
    this.watchStates.add(state);
    socket.on('watch', (cameras) => this.onWatch(socket, state, cameras));
    socket.on('video', (cameras) => this.onVideo(socket, state, cameras));
    socket.on('disconnect', () => {
      clearTimeout(state.timer);
      this.watchStates.delete(state);
    });
    try {
      const views = await this.views();
      socket.emit('cameras', views);
      // The latest frames first, then the live room: joining first could send a frame twice.
      for (const v of views) {
        const l = this.latest.get(v.id);
        if (l) socket.emit('frame', { meta: l.meta, jpeg: l.jpeg });
      }
    } catch (e) {
      this.log.error({ err: e }, 'could not send camera list to a new client');
    }
    // Every camera, unless the client already said which it wants.
    if (!state.asked) {
      state.dirty = true;
      this.scheduleWatch(socket, state);
    }
  }

  /**
   * A client's `watch`: O(1) per event (validate, remember the newest), applied later by one loop per
   * socket, at most every WATCH_APPLY_GAP_MS: the last command wins (a hidden-then-shown tab sends
   * `watch([])` then `watch(null)` at once), and a client flooding `watch` costs the server almost nothing.
   */
  private onWatch(socket: WallSocket, state: WatchState, cameras: unknown): void {
    // Browser input: validate before use.
    state.want = Array.isArray(cameras) ? cameras.slice(0, 256).filter((c): c is string => typeof c === 'string' && c.length <= 64) : null;
    state.asked = true;
    state.dirty = true;
    this.watchEvents++;
    this.scheduleWatch(socket, state);
  }

  /** A client's `video` list: applied by the same loop as `watch` (and as cheap per event). */
  private onVideo(socket: WallSocket, state: WatchState, cameras: unknown): void {
    state.video = Array.isArray(cameras) ? cameras.slice(0, 256).filter((c): c is string => typeof c === 'string' && c.length <= 64) : [];
    state.dirty = true;
    this.watchEvents++;
    this.scheduleWatch(socket, state);
  }

  private scheduleWatch(socket: WallSocket, state: WatchState): void {
    if (state.applying || state.timer || !state.dirty) return;
    const wait = Math.max(0, state.lastApplied + WATCH_APPLY_GAP_MS - Date.now());
    state.timer = setTimeout(() => {
      state.timer = undefined;
      void this.applyWatch(socket, state);
    }, wait);
    state.timer.unref();
  }

  private async applyWatch(socket: WallSocket, state: WatchState): Promise<void> {
    if (!socket.connected) return;
    state.applying = true;
    state.dirty = false;
    const want = state.want;
    try {
      const target = new Set(want === null ? [ALL_ROOM] : want.map(roomOf));
      // Metadata rooms only for cameras the client also watches (a hidden tab watches none).
      for (const cam of state.video) if (want === null || want.includes(cam)) target.add(videoRoomOf(cam));
      // A snapshot of the rooms: leaving while iterating socket.rooms itself skips rooms.
      for (const room of [...socket.rooms]) if (room !== socket.id && !target.has(room)) await socket.leave(room);
      const missing = [...target].filter((r) => !socket.rooms.has(r));
      if (missing.length > 0) await socket.join(missing);
      socket.data.watch = want;
    } catch (e) {
      this.log.warn({ err: e }, 'could not apply a client watch');
    } finally {
      state.applying = false;
      state.lastApplied = Date.now();
      this.watchApplied++;
    }
    this.scheduleWatch(socket, state);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer?.close();
    await this.alertConsumer?.close();
    await this.linkConsumer?.close();
    this.io.disconnectSockets(true);
    // Not io.close(): that also closes the http server, which belongs to the WebServer.
    this.io.engine.close();
  }
}
