import { io, type Socket } from 'socket.io-client';
import { connect as natsConnect, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstreamManager, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { decodeEnvelope, type Alert, type ClientToServerEvents, type ServerToClientEvents, type StageStats, type StandingQuery, type WallFrame } from '@chronotrace/contracts';
import { waitUntil } from './processes';

export interface SeenFrame {
  camera: string;
  frameId: string;
  capturedAt: number;
  receivedAt: number;
  redacted: boolean;
  jpegBytes: number;
}

/** A browser stand-in: a Socket.io client on the web process recording every 'frame' it is pushed. */
export class WallWatcher {
  readonly frames: SeenFrame[] = [];
  readonly connectedAt = Date.now();
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;

  private constructor(socket: Socket<ServerToClientEvents, ClientToServerEvents>) {
    this.socket = socket;
    socket.on('frame', (f: WallFrame) => {
      this.frames.push({
        camera: f.meta.camera,
        frameId: f.meta.frameId,
        capturedAt: f.meta.capturedAt,
        receivedAt: Date.now(),
        // Only redacted frames may ever reach a browser: the meta must carry the redaction summary.
        redacted: typeof f.meta.redaction === 'object' && f.meta.redaction !== null && Array.isArray(f.meta.redaction.faces),
        jpegBytes: f.jpeg.byteLength,
      });
    });
  }

  static async connect(url: string, timeoutMs = 10_000): Promise<WallWatcher> {
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { transports: ['websocket'], reconnection: false, timeout: timeoutMs });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`socket.io did not connect to ${url} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('connect_error', (e) => {
        clearTimeout(timer);
        reject(new Error(`socket.io connect_error: ${e.message}`));
      });
    });
    return new WallWatcher(socket);
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  of(camera: string, after = 0): SeenFrame[] {
    return this.frames.filter((f) => f.camera === camera && f.receivedAt > after);
  }

  close(): void {
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }
}

/**
 * Looks at the bus from outside the processes: the latest StageStats per privacy replica (from the
 * `<prefix>.stats.>` subjects, core NATS subscription) and the JetStream state of a durable.
 */
export class BusObserver {
  readonly latest = new Map<string, StageStats>();

  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly sub: Subscription,
    private readonly prefix: string,
  ) {}

  static async start(servers: string, prefix: string): Promise<BusObserver> {
    const nc = await natsConnect({ servers, name: `${prefix}-test-observer` });
    const jsm = await jetstreamManager(nc);
    const sub = nc.subscribe(`${prefix}.stats.>`);
    const w = new BusObserver(nc, jsm, sub, prefix);
    void (async () => {
      for await (const m of sub) {
        try {
          const meta = decodeEnvelope<'stats'>(m.data).meta;
          if (meta.stage === 'privacy') w.latest.set(meta.instance, meta);
        } catch {
          // not an envelope: ignore
        }
      }
    })();
    return w;
  }

  /** Frames processed so far by the replica whose instance id names this pid (`<host>-<pid>-<rand>`), of one camera or all. */
  processedBy(pid: number, camera?: string): number {
    for (const [instance, s] of this.latest) {
      if (!new RegExp(`-${pid}-[a-z0-9]+$`).test(instance)) continue;
      return Object.entries(s.cameras).reduce((n, [cam, c]) => (camera === undefined || cam === camera ? n + c.processed : n), 0);
    }
    return 0;
  }

  /** JetStream's view of a durable, e.g. ('FRAMES_RAW', 'privacy'): delivered, ack floor, pending, redelivered. */
  consumer(stream: string, durable: string): Promise<ConsumerInfo> {
    return this.jsm.consumers.info(`${this.prefix}_${stream}`, `${this.prefix}_${durable}`);
  }

  /** Durable names on each `<prefix>_*` stream. */
  async durables(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for await (const stream of this.jsm.streams.names()) {
      if (!stream.startsWith(`${this.prefix}_`)) continue;
      out[stream] = [];
      for await (const c of this.jsm.consumers.list(stream)) out[stream].push(c.name);
    }
    return out;
  }

  async close(): Promise<void> {
    this.sub.unsubscribe();
    await this.nc.close();
  }
}

/**
 * Registers a standing query through the web API (as an operator would) with an alert socket already
 * listening, and waits for the first alert of that query on the socket. Throws on a non-201 answer.
 */
export async function queryAndFirstAlert(url: string, text: string, opts: { timeoutMs: number; guard: () => void }): Promise<{ query: StandingQuery; alert: Alert; alerts: Alert[] }> {
  const socket = io(url, { transports: ['websocket'], forceNew: true });
  const alerts: Alert[] = [];
  socket.on('alert', (a: Alert) => alerts.push(a));
  try {
    await waitUntil('alert socket connected', () => socket.connected, { timeoutMs: 10_000, guard: opts.guard });
    const res = await fetch(`${url}/api/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
    if (res.status !== 201) throw new Error(`POST /api/queries answered ${res.status}: ${await res.text()}`);
    const query = (await res.json()) as StandingQuery;
    const alert = await waitUntil(`an alert of "${text}" on the socket`, () => alerts.find((a) => a.queryId === query.id), opts);
    return { query, alert, alerts };
  } finally {
    socket.close();
  }
}
