/**
 * The wall as a browser shows it: a real headless Chromium on the live wall of an embedded runtime,
 * first with WebRTC refused (tiles show the JPEG frames), then with WebRTC (tiles play the H.264 video).
 * Glass-to-wall = when the picture is on screen − when its frame was captured at ingest:
 * - JPEG: the animation frame after the tile's <img> loaded a new frame (the tile carries its capture time);
 * - WebRTC: requestVideoFrameCallback's expected display time of each frame, paired by its RTP timestamp
 *   with the capture time the encoder remembers for it (LiveVideoService.captureTimeOf).
 * Encode CPU = the encoders' ffmpeg CPU time over the WebRTC window, per camera.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import type { Runtime as RuntimeT } from '../web/server/runtime';

export interface BrowserWallResult {
  glass_to_wall_ms: { webrtc: Dist & { unmatched: number }; jpeg: Dist };
  /** Decoded video frames per second of each tile (WebRTC window): median tile and worst. */
  webrtc_fps_per_camera: { p50: number | null; min: number | null };
  /** Frames per second each tile showed as JPEG (JPEG window). */
  jpeg_fps_per_camera: { p50: number | null; min: number | null };
  encode_cpu_percent_per_camera: number | null;
  seconds: number;
}

export interface Dist {
  p50: number | null;
  p99: number | null;
  count: number;
}

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, with the flags this machine needs (no sandbox as root, no GPU, no background networking). */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', ...extraArgs],
  });
}

/** p50, p99 and count of a sample (ms, rounded). */
export function dist(values: number[]): Dist {
  const v = [...values].sort((a, b) => a - b);
  const at = (p: number): number | null => (v.length ? Math.round(v[Math.min(v.length - 1, Math.floor((p / 100) * v.length))]!) : null);
  return { p50: at(50), p99: at(99), count: v.length };
}

function spread(perCamera: number[]): { p50: number | null; min: number | null } {
  const v = [...perCamera].sort((a, b) => a - b);
  return { p50: v.length ? Math.round(v[Math.floor(v.length / 2)]! * 10) / 10 : null, min: v.length ? Math.round(v[0]! * 10) / 10 : null };
}

/** Collects, in the page, the display time − capture time of every JPEG a tile shows and every video frame it plays. */
const COLLECTOR = `
(() => {
  const out = { jpeg: [], video: [], jpegCount: {}, videoCount: {} };
  window.__ctWall = out;
  const now = () => performance.timeOrigin + performance.now();
  const watched = new WeakSet();
  const watchVideo = (video, camera) => {
    if (watched.has(video)) return;
    watched.add(video);
    const onFrame = (_t, meta) => {
      if (meta.rtpTimestamp !== undefined) {
        out.video.push({ camera, rtp: meta.rtpTimestamp, shown: performance.timeOrigin + meta.expectedDisplayTime });
        out.videoCount[camera] = (out.videoCount[camera] || 0) + 1;
      }
      video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
  };
  const scan = () => {
    for (const tile of document.querySelectorAll('[data-testid="camera-tile"]')) {
      const camera = tile.dataset.camera;
      const video = tile.querySelector('video');
      if (video) watchVideo(video, camera);
      const img = tile.querySelector('img[data-testid="camera-frame"]');
      if (img && !watched.has(img)) {
        watched.add(img);
        img.addEventListener('load', () => {
          const captured = Number(tile.dataset.capturedAt);
          requestAnimationFrame(() => {
            if (captured > 0) out.jpeg.push(now() - captured);
            out.jpegCount[camera] = (out.jpegCount[camera] || 0) + 1;
          });
        });
      }
    }
  };
  new MutationObserver(scan).observe(document, { childList: true, subtree: true });
  document.addEventListener('DOMContentLoaded', scan);
})();
`;

interface Collected {
  jpeg: number[];
  video: { camera: string; rtp: number; shown: number }[];
  jpegCount: Record<string, number>;
  videoCount: Record<string, number>;
}

const read = (page: Page): Promise<Collected> => page.evaluate(() => (window as unknown as { __ctWall: Collected }).__ctWall);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Opens the wall, waits `warmupS`, measures `seconds`; `webrtc` false refuses /whep so tiles stay on JPEG. */
async function measurePage(
  browser: Browser,
  url: string,
  cameras: string[],
  webrtc: boolean,
  warmupS: number,
  seconds: number,
  window: { start?: () => void; end?: () => void } = {},
): Promise<Collected> {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    await page.addInitScript(COLLECTOR);
    if (!webrtc) await page.route('**/whep/**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":"JPEG window of the bench"}' }));
    await page.goto(url);
    if (webrtc) {
      for (const c of cameras) await page.waitForSelector(`[data-camera="${c}"][data-video="playing"]`, { timeout: 60_000 });
    }
    await sleep(warmupS * 1000);
    const a = await read(page);
    window.start?.();
    const a0 = { jpeg: a.jpeg.length, video: a.video.length, jpegCount: { ...a.jpegCount }, videoCount: { ...a.videoCount } };
    await sleep(seconds * 1000);
    const b = await read(page);
    window.end?.();
    return {
      jpeg: b.jpeg.slice(a0.jpeg),
      video: b.video.slice(a0.video),
      jpegCount: Object.fromEntries(cameras.map((c) => [c, (b.jpegCount[c] ?? 0) - (a0.jpegCount[c] ?? 0)])),
      videoCount: Object.fromEntries(cameras.map((c) => [c, (b.videoCount[c] ?? 0) - (a0.videoCount[c] ?? 0)])),
    };
  } finally {
    await page.close();
  }
}

/** Both windows on one runtime (the caller's, with its cameras live). Null with a reason when Chromium is missing. */
export async function measureBrowserWall(rt: RuntimeT, cameras: string[], warmupS: number, seconds: number): Promise<BrowserWallResult | { skipped: string }> {
  if (!existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} is missing (apt-get install chromium)` };
  const video = rt.video;
  if (!video) return { skipped: 'WEBRTC is off' };
  const browser = await launchChromium();
  try {
    const jpeg = await measurePage(browser, rt.url, cameras, false, warmupS, seconds);
    let cpuStart = new Map<string, number>();
    let cpuS = 0;
    let t0 = 0;
    let wallS = 0;
    const webrtc = await measurePage(browser, rt.url, cameras, true, warmupS, seconds, {
      start: () => {
        t0 = Date.now();
        cpuStart = new Map(video.stats().map((x) => [x.camera, x.cpuSeconds]));
      },
      end: () => {
        wallS = (Date.now() - t0) / 1000;
        cpuS = video.stats().reduce((n, x) => n + x.cpuSeconds - (cpuStart.get(x.camera) ?? x.cpuSeconds), 0);
      },
    });
    // Every shown frame, paired with its capture time (a frame the encoder no longer remembers is counted as unmatched).
    const ages: number[] = [];
    let unmatched = 0;
    for (const f of webrtc.video) {
      const captured = video.captureTimeOf(f.camera, f.rtp);
      if (captured === undefined) unmatched++;
      else ages.push(f.shown - captured);
    }
    return {
      glass_to_wall_ms: { webrtc: { ...dist(ages), unmatched }, jpeg: dist(jpeg.jpeg) },
      webrtc_fps_per_camera: spread(cameras.map((c) => (webrtc.videoCount[c] ?? 0) / seconds)),
      jpeg_fps_per_camera: spread(cameras.map((c) => (jpeg.jpegCount[c] ?? 0) / seconds)),
      encode_cpu_percent_per_camera: wallS > 0 ? Math.round(((cpuS / wallS) * 100 * 10) / cameras.length) / 10 : null,
      seconds,
    };
  } finally {
    await browser.close();
  }
}
