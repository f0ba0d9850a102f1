import type { CameraHealth, CameraView, RedactedFrameMeta, WallFrame } from '@chronotrace/contracts';
import type { ConnectionStatus } from './live';
import { WhepViewer, webRtcSupported } from './whep';

/**
 * The WebRTC video of a tile: 'off' (JPEG frames), 'connecting', 'playing' (the video element shows
 * frames; the server then sends metadata only), 'failed' (back on JPEG frames until the next try).
 */
export type VideoState = 'off' | 'connecting' | 'playing' | 'failed';
/** Retry a failed video connection after this long, doubling per failure up to VIDEO_RETRY_MAX_MS. */
const VIDEO_RETRY_MS = 3_000;
const VIDEO_RETRY_MAX_MS = 60_000;

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
  /** The camera's live WebRTC video, once the connection is up. */
  stream: MediaStream | null = $state.raw(null);
  video: VideoState = $state('off');
  /** Why the last video attempt failed. */
  videoError: string | null = $state(null);
  /** Called when `video` turns 'playing' or stops being so (the page tells the server). */
  onVideoChange: (() => void) | null = null;
  private arrivals: number[] = [];
  private viewer: WhepViewer | null = null;
  private videoFailures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

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

  /** A frame's metadata without its JPEG (the video element shows the picture). */
  pushMeta(meta: RedactedFrameMeta, now: number): void {
    this.meta = meta;
    this.frames += 1;
    this.receivedAt = now;
    this.arrivals.push(now);
    this.measure(now);
  }

  /** Connects the camera's WebRTC video, unless it is on already or this browser cannot. */
  startVideo(): void {
    if (this.closed || this.viewer || !webRtcSupported()) return;
    clearTimeout(this.retryTimer);
    this.video = 'connecting';
    const viewer = new WhepViewer(
      this.id,
      (stream) => (this.stream = stream),
      (state, reason) => {
        if (this.viewer !== viewer) return;
        if (state === 'failed') this.videoFailed(reason ?? 'WebRTC failed');
      },
    );
    this.viewer = viewer;
    void viewer.start();
  }

  /** The video element shows frames. */
  videoPlaying(): void {
    if (this.video === 'playing' || !this.viewer) return;
    this.video = 'playing';
    this.videoError = null;
    this.videoFailures = 0;
    this.onVideoChange?.();
  }

  /** The video failed or froze: back to JPEG frames, and try again later. */
  videoFailed(reason: string): void {
    const wasPlaying = this.video === 'playing';
    this.dropViewer();
    this.video = 'failed';
    this.videoError = reason;
    if (wasPlaying) this.onVideoChange?.();
    const delay = Math.min(VIDEO_RETRY_MAX_MS, VIDEO_RETRY_MS * 2 ** this.videoFailures);
    this.videoFailures++;
    clearTimeout(this.retryTimer);
    if (!this.closed) this.retryTimer = setTimeout(() => this.startVideo(), delay);
  }

  /** Ends the video connection without retrying (the page is going away). */
  stopVideo(): void {
    clearTimeout(this.retryTimer);
    this.dropViewer();
    this.video = 'off';
  }

  private dropViewer(): void {
    const viewer = this.viewer;
    this.viewer = null;
    viewer?.close();
    this.stream = null;
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
    this.closed = true;
    this.stopVideo();
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
  /** Called with the cameras playing as WebRTC video whenever that set changes. */
  onVideoCameras: ((cameras: string[]) => void) | null = null;

  readonly liveCount = $derived(this.feeds.filter((f) => f.health.state === 'live').length);

  get(id: string): CameraFeed | undefined {
    return this.feeds.find((f) => f.id === id);
  }

  /** Make the tiles match this list (order included), keeping the live state of cameras that stay. */
  reconcile(views: CameraView[]): void {
    const old = new Map(this.feeds.map((f) => [f.id, f]));
    const next: CameraFeed[] = [];
    // Uploaded videos are virtual cameras of history (search, playback), not live tiles.
    for (const v of views.filter((x) => x.origin !== 'upload')) {
      const kept = old.get(v.id);
      if (kept) {
        old.delete(v.id);
        kept.view = v;
        // A newer record may already have come over the socket.
        if (v.health.at >= kept.health.at) kept.health = v.health;
        next.push(kept);
      } else {
        next.push(this.feed(v));
      }
    }
    for (const gone of old.values()) gone.close();
    this.feeds = next;
    if (old.size > 0) this.videoChanged();
  }

  /** Add (or refresh) one camera, e.g. from a 201 response, ahead of the `cameras` broadcast. */
  upsert(view: CameraView): void {
    const kept = this.get(view.id);
    if (kept) kept.view = view;
    else this.feeds = [...this.feeds, this.feed(view)];
  }

  remove(id: string): void {
    const gone = this.get(id);
    if (!gone) return;
    gone.close();
    this.feeds = this.feeds.filter((f) => f !== gone);
    this.videoChanged();
  }

  /** Ends every tile's video connection (the page is going away). */
  stopVideo(): void {
    for (const f of this.feeds) f.stopVideo();
  }

  /** The cameras whose WebRTC video plays. */
  videoCameras(): string[] {
    return this.feeds.filter((f) => f.video === 'playing').map((f) => f.id);
  }

  private feed(view: CameraView): CameraFeed {
    const f = new CameraFeed(view);
    f.onVideoChange = () => this.videoChanged();
    return f;
  }

  private videoChanged(): void {
    this.onVideoCameras?.(this.videoCameras());
  }

  applyMeta(meta: RedactedFrameMeta): void {
    const feed = this.get(meta.camera);
    if (feed) feed.pushMeta(meta, Date.now());
    else this.onUnknownCamera?.();
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
