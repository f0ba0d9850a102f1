import { beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import type { Browser, Page } from 'playwright-core';
import { RTCPeerConnection } from 'werift';
import { H264_CODEC, VP8_CODEC, peerConfig } from '@chronotrace/media-server';
import { useWallUnderTest } from '../support/chromium';
import type { TestRuntime } from '../support/runtime';
import { meanAbsDiff } from '../support/images';

/**
 * The wall's WebRTC video (WHEP): tiles play the redacted H.264 stream of each camera in a <video>, the
 * server then sends frame metadata without JPEGs, and a tile whose video cannot connect falls back to
 * the JPEG frames. Media sockets on loopback.
 */
const PITCH_IMAGE = '/usr/share/doc/opencv-doc/examples/data/messi5.jpg';
const CAMERAS = [
  { id: 'lobby', name: 'Lobby', location: 'Synthetic', source: 'testsrc:testsrc2', fps: 10, width: 480 },
  { id: 'pitch', name: 'Pitch', location: 'Stadium', source: PITCH_IMAGE, fps: 5, width: 480 },
];

const wall = useWallUnderTest(CAMERAS, { WEBRTC: 'on', WEBRTC_ADDRESS: '127.0.0.1' });
let t: TestRuntime;
let browser: Browser;
beforeAll(() => {
  t = wall.runtime;
  browser = wall.browser;
});

const tile = (camera: string): string => `[data-testid="camera-tile"][data-camera="${camera}"]`;

async function openWall(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(t.url);
  await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]', { timeout: 20_000 });
  return { page, errors };
}

/** Decoded frames and playback time of a tile's video. */
function playback(page: Page, camera: string): Promise<{ frames: number; time: number; width: number; height: number }> {
  return page.$eval(`${tile(camera)} video`, (v) => {
    const video = v as HTMLVideoElement;
    return { frames: video.getVideoPlaybackQuality().totalVideoFrames, time: video.currentTime, width: video.videoWidth, height: video.videoHeight };
  });
}

/** Mean absolute difference of two same-sized RGB images inside boxes (all of it without boxes). */
describe('WebRTC live video on the wall (WHEP)', () => {
  it('every tile plays redacted video whose time advances; frame metadata keeps coming without JPEGs', async () => {
    const { page, errors } = await openWall();
    for (const c of CAMERAS) await page.waitForSelector(`${tile(c.id)}[data-video="playing"]`, { timeout: 40_000 });
    const before = await playback(page, 'lobby');
    const framesBefore = Number(await page.getAttribute(tile('lobby'), 'data-frames'));
    // The picture moves: at least 10 more decoded frames and later playback time (no fixed wait).
    await page.waitForFunction(
      ([sel, n, time]) => {
        const v = document.querySelector<HTMLVideoElement>(`${sel} video`);
        return v !== null && v.getVideoPlaybackQuality().totalVideoFrames >= n && v.currentTime > time;
      },
      [tile('lobby'), before.frames + 10, before.time] as const,
      { timeout: 30_000 },
    );
    const after = await playback(page, 'lobby');
    expect(after.width).toBe(480);
    // The redacted frames' metadata still arrives (rate, privacy counts) while no JPEG is shown.
    await page.waitForFunction(([sel, n]) => Number(document.querySelector<HTMLElement>(sel)?.dataset.frames) > n, [tile('lobby'), framesBefore + 5] as const, { timeout: 20_000 });
    expect(await page.$(`${tile('lobby')} [data-testid="camera-frame"]`)).toBeNull();
    await page.waitForFunction((sel) => /face/.test(document.querySelector(`${sel} [data-testid="camera-privacy"]`)?.textContent ?? ''), tile('pitch'), { timeout: 20_000 });
    const stats = t.runtime.video!.stats();
    expect(stats.map((s) => [s.camera, s.viewers]).sort()).toEqual([['lobby', 1], ['pitch', 1]]);
    // /metrics shows the viewers and the encoding.
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/^chronotrace_video_viewers\{camera="lobby"\} 1$/m);
    expect(Number(/^chronotrace_video_frames_encoded_total\{camera="lobby"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThan(10);
    expect(errors).toEqual([]);
    await page.close();
    // Closing the page ends its sessions (DELETE, or the connection closing).
    await expect.poll(() => t.runtime.video!.stats().reduce((n, s) => n + s.viewers, 0), { timeout: 20_000 }).toBe(0);
  });

  it('the video shows the redacted picture, not the raw one: faces are pixelated in what the browser decodes', async () => {
    const { page } = await openWall();
    await page.waitForSelector(`${tile('pitch')}[data-video="playing"]`, { timeout: 40_000 });
    await page.waitForFunction((sel) => (document.querySelector<HTMLVideoElement>(`${sel} video`)?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 5, tile('pitch'), { timeout: 20_000 });
    // What the browser decoded, as PNG.
    const dataUrl = await page.$eval(`${tile('pitch')} video`, (v) => {
      const video = v as HTMLVideoElement;
      const canvas = document.createElement('canvas');
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      canvas.getContext('2d')!.drawImage(video, 0, 0);
      return canvas.toDataURL('image/png');
    });
    await page.close();
    const snap = await t.runtime.web.wall.snapshot('pitch');
    expect(snap).not.toBeNull();
    const { width, height } = snap!.meta;
    const faces = snap!.meta.redaction.faces.map((f) => ({ x: f.x, y: f.y, w: f.w, h: f.h }));
    expect(faces.length).toBeGreaterThan(0);
    const rgb = (img: sharp.Sharp): Promise<Buffer> => img.resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    const video = await rgb(sharp(Buffer.from(dataUrl.split(',')[1]!, 'base64')));
    const redacted = await rgb(sharp(snap!.jpeg));
    const raw = await rgb(sharp(PITCH_IMAGE));
    const toRedacted = meanAbsDiff(video, redacted, width, faces);
    const toRaw = meanAbsDiff(video, raw, width, faces);
    // Same picture as the redacted frame (up to H.264 loss), far from the raw face pixels.
    expect(meanAbsDiff(video, redacted, width, [])).toBeLessThan(12);
    expect(toRaw, `inside faces: ${toRedacted.toFixed(1)} from redacted, ${toRaw.toFixed(1)} from raw`).toBeGreaterThan(2 * toRedacted);
  });

  it('a tile whose WebRTC cannot connect falls back to JPEG frames', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.route('**/whep/**', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'blocked by the test' }) }));
    await page.goto(t.url);
    await page.waitForSelector(`${tile('lobby')}[data-video="failed"]`, { timeout: 20_000 });
    const n = Number(await page.getAttribute(tile('lobby'), 'data-frames'));
    await page.waitForFunction(([sel, m]) => Number(document.querySelector<HTMLElement>(sel)?.dataset.frames) > m + 3, [tile('lobby'), n] as const, { timeout: 20_000 });
    expect(await page.getAttribute(`${tile('lobby')} [data-testid="camera-frame"]`, 'src')).toMatch(/^blob:/);
    await page.close();
  });
});

describe('WHEP endpoint errors', () => {
  const post = (path: string, body: string, type = 'application/sdp'): Promise<Response> =>
    fetch(`${t.url}${path}`, { method: 'POST', headers: { 'content-type': type }, body });

  async function offer(codec: 'h264' | 'vp8'): Promise<{ pc: RTCPeerConnection; sdp: string }> {
    const pc = new RTCPeerConnection(peerConfig({ address: '127.0.0.1', portRange: null }, [codec === 'h264' ? H264_CODEC() : VP8_CODEC()]));
    pc.addTransceiver('video', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    return { pc, sdp: pc.localDescription!.sdp };
  }

  it('answers a good offer with 201, an SDP answer and a Location to DELETE', async () => {
    const { pc, sdp } = await offer('h264');
    try {
      const res = await post('/whep/lobby', sdp);
      expect(res.status, await res.clone().text()).toBe(201);
      expect(res.headers.get('content-type')).toBe('application/sdp');
      const answer = await res.text();
      expect(answer).toMatch(/^v=0\r\n/);
      expect(answer).toMatch(/a=rtpmap:\d+ H264\/90000/);
      expect(answer).toMatch(/a=sendonly/);
      // Only the configured address is announced.
      const candidates = answer.split('\r\n').filter((l) => l.startsWith('a=candidate:'));
      expect(candidates.length).toBeGreaterThan(0);
      expect(candidates.every((l) => l.split(' ')[4] === '127.0.0.1')).toBe(true);
      const location = res.headers.get('location')!;
      expect(location).toMatch(/^\/whep\/lobby\/[A-Za-z0-9_-]+$/);
      expect((await fetch(`${t.url}${location}`, { method: 'PATCH' })).status).toBe(405);
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE' })).status).toBe(204);
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE' })).status).toBe(404);
    } finally {
      await pc.close();
    }
  });

  it('refuses bad requests with a clear reason', async () => {
    const { pc, sdp } = await offer('h264');
    const vp8 = await offer('vp8');
    try {
      const cases: [Response, number, RegExp][] = [
        [await post('/whep/nope', sdp), 404, /no camera "nope"/],
        [await post('/whep/lobby', sdp, 'application/json'), 415, /application\/sdp/],
        [await post('/whep/lobby', ''), 400, /empty/],
        [await post('/whep/lobby', 'hello'), 400, /v=0/],
        [await post('/whep/lobby', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n'), 400, /no video/],
        [await post('/whep/lobby', vp8.sdp), 422, /H\.264/],
        [await fetch(`${t.url}/whep/lobby`, { method: 'GET' }), 405, /GET is not allowed/],
      ];
      for (const [res, status, reason] of cases) {
        expect(res.status).toBe(status);
        expect(((await res.json()) as { error: string }).error).toMatch(reason);
      }
    } finally {
      await pc.close();
      await vp8.pc.close();
    }
    expect(t.runtime.video!.stats().reduce((n, s) => n + s.viewers, 0)).toBe(0);
  });
});
