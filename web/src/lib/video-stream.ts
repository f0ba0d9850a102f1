import type { Action } from 'svelte/action';
import type { CameraFeed } from './wall.svelte';

/** A playing video whose picture has not moved this long, on a live camera, counts as frozen. */
const FROZEN_AFTER_MS = 4_000;

export interface PlayStreamParams {
  feed: CameraFeed;
  stream: MediaStream;
  /** This element reports playing and freezes to the feed (the tile's does; the focus view's only plays). */
  report: boolean;
}

/**
 * Plays a camera's WebRTC stream in a <video>. The reporting element tells the feed when frames show
 * ('playing') and when the picture froze while the camera is live (the feed then falls back to JPEG
 * frames and reconnects later).
 */
export const playStream: Action<HTMLVideoElement, PlayStreamParams> = (node, initial) => {
  let params = initial;
  let lastTime = -1;
  let lastMove = Date.now();
  const attach = (): void => {
    if (node.srcObject !== params.stream) node.srcObject = params.stream;
    node.muted = true;
    void node.play().catch(() => undefined);
  };
  const onPlaying = (): void => {
    if (params.report) params.feed.videoPlaying();
  };
  node.addEventListener('playing', onPlaying);
  const watchdog = setInterval(() => {
    if (!params.report) return;
    const now = Date.now();
    if (node.currentTime !== lastTime) {
      lastTime = node.currentTime;
      lastMove = now;
      return;
    }
    if (params.feed.video === 'playing' && params.feed.health.state === 'live' && now - lastMove > FROZEN_AFTER_MS) {
      params.feed.videoFailed('the video froze');
    }
  }, 1_000);
  attach();
  return {
    update(next) {
      params = next;
      attach();
    },
    destroy() {
      clearInterval(watchdog);
      node.removeEventListener('playing', onPlaying);
      node.srcObject = null;
    },
  };
};
