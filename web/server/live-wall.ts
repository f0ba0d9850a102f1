import type { Server as HttpServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import type {
  Alert,
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
  /** How often a camera's latest redacted frame is written to the store for /snapshot.jpg after restarts. Default 1000 ms. */
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
  private alertsOut = 0;
  /** Snapshots of the latest alerts, served until (and in case) the store has them. */
  private readonly alertSnapshots = new Map<string, Uint8Array>();
  private closed = false;
  private framesOut = 0;
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
        const { keep, skipped } = newestPerCamera(msgs);
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

  /** Tell every browser (on every replica, through the adapter) the camera list changed. */
  async broadcastCameras(): Promise<void> {
    this.io.emit('cameras', await this.cameraViews());
  }

  forget(camera: string): void {
    this.latest.delete(camera);
    this.lastSnapshotWrite.delete(camera);
  }

  toJSON(): { clients: number; framesOut: number; skipped: number; alertsOut: number } {
    return { clients: this.io.engine.clientsCount, framesOut: this.framesOut, skipped: this.skipped, alertsOut: this.alertsOut };
  }

  private push(meta: RedactedFrameMeta, jpeg: Uint8Array): void {
    const prev = this.latest.get(meta.camera);
    if (prev && prev.meta.capturedAt > meta.capturedAt) return;
    this.latest.set(meta.camera, { meta, jpeg });
    this.io.local.to(ALL_ROOM).to(roomOf(meta.camera)).emit('frame', { meta, jpeg });
    this.framesOut++;
    const now = Date.now();
    if (now - (this.lastSnapshotWrite.get(meta.camera) ?? 0) >= (this.options.snapshotEveryMs ?? 1000)) {
      this.lastSnapshotWrite.set(meta.camera, now);
      this.store.snapshots.putLatest({ meta, jpeg }).catch((e: unknown) => this.log.warn({ err: e, camera: meta.camera }, 'could not store snapshot'));
    }
  }

  private async onConnection(socket: WallSocket): Promise<void> {
    socket.data.watch = null;
    socket.on('watch', (cameras) => {
      void this.onWatch(socket, cameras);
    });
    try {
      const views = await this.cameraViews();
      socket.emit('cameras', views);
      // The latest frames first, then the live room: joining first could send a frame twice.
      for (const v of views) {
        const l = this.latest.get(v.id);
        if (l) socket.emit('frame', { meta: l.meta, jpeg: l.jpeg });
      }
    } catch (e) {
      this.log.error({ err: e }, 'could not send camera list to a new client');
    }
    if (socket.data.watch === null) await socket.join(ALL_ROOM);
  }

  private async onWatch(socket: WallSocket, cameras: unknown): Promise<void> {
    // Browser input: validate before use.
    const list = Array.isArray(cameras) ? cameras.filter((c): c is string => typeof c === 'string').slice(0, 256) : null;
    for (const room of socket.rooms) if (room !== socket.id) await socket.leave(room);
    socket.data.watch = list;
    if (list === null) await socket.join(ALL_ROOM);
    else await socket.join(list.map(roomOf));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer?.close();
    await this.alertConsumer?.close();
    this.io.disconnectSockets(true);
    // Not io.close(): that also closes the http server, which belongs to the WebServer.
    this.io.engine.close();
  }
}
