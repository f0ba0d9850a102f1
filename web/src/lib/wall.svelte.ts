import type { CameraHealth, CameraView, RedactedFrameMeta, WallFrame } from '@chronotrace/contracts';
import type { ConnectionStatus } from './live';

/** Window over which the wall measures the frame rate it actually receives. */
const FPS_WINDOW_MS = 5_000;

/**
 * One camera on the wall: its view, latest health and latest redacted frame. Owns the object
 * URL of that frame and revokes the previous one on every update; `close()` revokes the last.
 */
export class CameraFeed {
  view: CameraView;
  health: CameraHealth;
  meta: RedactedFrameMeta | null = $state.raw(null);
  /** Object URL of the latest frame's JPEG, or null before the first frame. */
  frameUrl: string | null = $state(null);
  /** Frames received over Socket.io since the page loaded. */
  frames = $state(0);
  /** Local receive time (ms epoch) of the latest frame. */
  receivedAt: number | null = $state(null);
  /** Frames per second received by this page over the last few seconds. */
  fps = $state(0);
  private arrivals: number[] = [];

  constructor(view: CameraView) {
    this.view = $state.raw(view);
    this.health = $state.raw(view.health);
  }

  get id(): string {
    return this.view.id;
  }

  pushFrame(frame: WallFrame, now: number): void {
    const jpeg = frame.jpeg;
    // Socket.io hands browsers an ArrayBuffer; a Uint8Array view is accepted too.
    const bytes = jpeg instanceof ArrayBuffer ? jpeg : new Uint8Array(jpeg);
    const url = URL.createObjectURL(new Blob([bytes], { type: 'image/jpeg' }));
    const previous = this.frameUrl;
    this.frameUrl = url;
    // The previous image is already decoded on screen; its bytes are no longer needed.
    if (previous) URL.revokeObjectURL(previous);
    this.meta = frame.meta;
    this.frames += 1;
    this.receivedAt = now;
    this.arrivals.push(now);
    this.measure(now);
  }

  /** Recompute the received fps; called on each frame and on the wall's clock tick. */
  measure(now: number): void {
    while (this.arrivals.length > 0 && (this.arrivals[0] ?? 0) < now - FPS_WINDOW_MS) this.arrivals.shift();
    const n = this.arrivals.length;
    const first = this.arrivals[0];
    if (n < 2 || first === undefined) {
      this.fps = 0;
      return;
    }
    // Span from the first frame in the window to now, so a stalled feed decays towards 0.
    const spanS = Math.max(now - first, 1) / 1000;
    this.fps = Math.round(((n - 1) / spanS) * 10) / 10;
  }

  /** Time since the last frame: this page's receive time, else the server's last-frame stamp. */
  lastFrameAt(): number | null {
    return this.receivedAt ?? this.health.lastFrameAt;
  }

  close(): void {
    if (this.frameUrl) URL.revokeObjectURL(this.frameUrl);
    this.frameUrl = null;
  }
}

/** Everything the wall page shows, updated from REST and Socket.io. */
export class WallState {
  feeds: CameraFeed[] = $state([]);
  connection: ConnectionStatus = $state('connecting');
  /** The wall clock, ticked by the page, for "time since last frame". */
  now = $state(Date.now());
  /** Set when a frame or health record names a camera the wall does not know yet. */
  onUnknownCamera: (() => void) | null = null;

  readonly liveCount = $derived(this.feeds.filter((f) => f.health.state === 'live').length);

  get(id: string): CameraFeed | undefined {
    return this.feeds.find((f) => f.id === id);
  }

  /** Make the tiles match this list (order included), keeping the live state of cameras that stay. */
  reconcile(views: CameraView[]): void {
    const old = new Map(this.feeds.map((f) => [f.id, f]));
    const next: CameraFeed[] = [];
    for (const v of views) {
      const kept = old.get(v.id);
      if (kept) {
        old.delete(v.id);
        kept.view = v;
        // A newer record may already have come over the socket.
        if (v.health.at >= kept.health.at) kept.health = v.health;
        next.push(kept);
      } else {
        next.push(new CameraFeed(v));
      }
    }
    for (const gone of old.values()) gone.close();
    this.feeds = next;
  }

  /** Add (or refresh) one camera, e.g. from a 201 response, ahead of the `cameras` broadcast. */
  upsert(view: CameraView): void {
    const kept = this.get(view.id);
    if (kept) kept.view = view;
    else this.feeds = [...this.feeds, new CameraFeed(view)];
  }

  remove(id: string): void {
    const gone = this.get(id);
    if (!gone) return;
    gone.close();
    this.feeds = this.feeds.filter((f) => f !== gone);
  }

  applyFrame(frame: WallFrame): void {
    const feed = this.get(frame.meta.camera);
    if (feed) feed.pushFrame(frame, Date.now());
    else this.onUnknownCamera?.();
  }

  applyHealth(health: CameraHealth): void {
    const feed = this.get(health.camera);
    if (!feed) {
      this.onUnknownCamera?.();
      return;
    }
    if (health.at >= feed.health.at) feed.health = health;
  }

  tick(now: number): void {
    this.now = now;
    for (const f of this.feeds) f.measure(now);
  }

  close(): void {
    for (const f of this.feeds) f.close();
    this.feeds = [];
  }
}
