import { io, type Socket } from 'socket.io-client';
import type { Alert, CameraHealth, CameraView, ClientToServerEvents, RedactedFrameMeta, ReidLink, ServerToClientEvents, StandingQuery, WallFrame } from '@chronotrace/contracts';

/** The wall's Socket.io connection, typed with the shared event maps. */
export type LiveSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** What the header shows about the live connection. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface LiveHandlers {
  frame(frame: WallFrame): void;
  /** A frame's metadata alone, for a camera this page plays as WebRTC video. */
  frameMeta(meta: RedactedFrameMeta): void;
  health(health: CameraHealth): void;
  cameras(cameras: CameraView[]): void;
  /** A standing query fired. */
  alert(alert: Alert): void;
  /** Someone (anyone, on any replica) acknowledged an alert. */
  alertAck(ack: { id: string; by: string; at: number }): void;
  /** The whole list of standing queries, after any change. */
  queries(queries: StandingQuery[]): void;
  /** A person walked from one camera to another (the re-ID stage linked their tracks). */
  handoff?(link: ReidLink): void;
  status(status: ConnectionStatus): void;
  /** Called on every (re)connect, after the status turns 'connected'. */
  connected?(): void;
}

export interface LiveClientOptions {
  /** Socket.io URL; default the page's own origin (the server attaches Socket.io at /socket.io). */
  url?: string;
  /** Stop frame pushes while the tab is hidden (watch []), resume with watch(null). Default true. */
  pauseWhenHidden?: boolean;
}

/**
 * Owns the browser's Socket.io connection to the live wall: forwards typed events to the
 * handlers, reports connection status, and pauses frames while the tab is hidden.
 * `close()` is idempotent.
 */
export class LiveClient {
  readonly socket: LiveSocket;
  private closed = false;
  private videoCameras: string[] = [];
  private readonly onVisibility = (): void => this.applyVisibility();

  constructor(
    private readonly handlers: LiveHandlers,
    private readonly options: LiveClientOptions = {},
  ) {
    const socket: LiveSocket = options.url === undefined ? io({ autoConnect: false }) : io(options.url, { autoConnect: false });
    this.socket = socket;

    socket.on('frame', (f) => handlers.frame(f));
    socket.on('frameMeta', (m) => handlers.frameMeta(m));
    socket.on('health', (h) => handlers.health(h));
    socket.on('cameras', (c) => handlers.cameras(c));
    socket.on('alert', (a) => handlers.alert(a));
    socket.on('alertAck', (a) => handlers.alertAck(a));
    socket.on('queries', (q) => handlers.queries(q));
    socket.on('handoff', (l) => handlers.handoff?.(l));

    socket.on('connect', () => {
      handlers.status('connected');
      // The server joins new sockets to every camera; only narrow that when the tab is hidden.
      if (this.pausing() && document.hidden) socket.emit('watch', []);
      if (this.videoCameras.length > 0) socket.emit('video', this.videoCameras);
      handlers.connected?.();
    });
    socket.on('disconnect', (reason) => {
      // 'io client disconnect' is our own close(); every other reason reconnects on its own.
      handlers.status(reason === 'io client disconnect' ? 'offline' : 'reconnecting');
    });
    socket.on('connect_error', () => {
      handlers.status(socket.active ? 'reconnecting' : 'offline');
    });

    handlers.status('connecting');
    if (this.pausing()) document.addEventListener('visibilitychange', this.onVisibility);
    socket.connect();
  }

  /** Cameras played as WebRTC video: the server sends their metadata without JPEGs. Kept across reconnects. */
  video(cameras: string[]): void {
    this.videoCameras = [...cameras];
    if (this.socket.connected) this.socket.emit('video', this.videoCameras);
  }

  /** Limit frame pushes to these cameras, or all of them with null. */
  watch(cameras: string[] | null): void {
    if (this.socket.connected) this.socket.emit('watch', cameras);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pausing()) document.removeEventListener('visibilitychange', this.onVisibility);
    this.socket.removeAllListeners();
    this.socket.disconnect();
    this.handlers.status('offline');
  }

  private pausing(): boolean {
    return this.options.pauseWhenHidden ?? true;
  }

  private applyVisibility(): void {
    this.watch(document.hidden ? [] : null);
  }
}
