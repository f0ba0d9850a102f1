import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { CameraView, PublishTokenIssued } from '@chronotrace/contracts';
import { RTCPeerConnection } from 'werift';
import { H264_CODEC, VP8_CODEC, peerConfig } from '@chronotrace/media-server';
import { CHROMIUM_PATH } from '../support/chromium';
import { startTestRuntime, type TestRuntime } from '../support/runtime';

/**
 * WebRTC cameras in (WHIP): headless Chromium publishes its fake camera (a generated y4m of Debian's
 * messi5.jpg, faces included) from the publish page; the frames enter the pipeline like an RTSP camera's,
 * are redacted, and the wall plays them; a publisher that stops sending goes stalled, then down.
 */
const IMAGE = '/usr/share/doc/opencv-doc/examples/data/messi5.jpg';
let t: TestRuntime;
let browser: Browser;
let tmp = '';

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'ct-whip-'));
  const y4m = join(tmp, 'camera.y4m');
  const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-loop', '1', '-i', IMAGE, '-t', '3', '-r', '10', '-vf', 'scale=640:400,format=yuv420p', '-f', 'yuv4mpegpipe', y4m]);
  if (made.status !== 0) throw new Error(`cannot make the fake camera: ${made.stderr.toString()}`);
  t = await startTestRuntime(
    [
      { id: 'phone', name: 'Phone', location: 'Handheld', source: 'webrtc', fps: 10, width: 480 },
      { id: 'lobby', name: 'Lobby', location: 'Synthetic', source: 'testsrc:testsrc2', fps: 5, width: 320 },
    ],
    { WEBRTC: 'on', WEBRTC_ADDRESS: '127.0.0.1', ...(process.env.CT_TEST_LOG ? { LOG_LEVEL: process.env.CT_TEST_LOG } : {}) },
  );
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`,
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

async function cameraView(id: string): Promise<CameraView> {
  const list = (await (await fetch(`${t.url}/api/cameras`)).json()) as CameraView[];
  return list.find((c) => c.id === id)!;
}

async function issueToken(camera: string): Promise<string> {
  const res = await fetch(`${t.url}/api/cameras/${camera}/publish-token`, { method: 'POST' });
  expect(res.status).toBe(201);
  return ((await res.json()) as PublishTokenIssued).token;
}

describe('publishing a camera from the browser (WHIP)', () => {
  let page: Page;

  it('publishes the fake camera from the publish page; its frames are redacted and the wall plays them', async () => {
    page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.url}/publish?camera=phone`);
    await page.click('[data-testid="publish-new-token"]');
    await page.waitForSelector('[data-testid="publish-issued"]');
    expect(await page.inputValue('[data-testid="publish-token"]')).toMatch(/^ctp_/);
    await page.click('[data-testid="publish-start"]');
    await page.waitForSelector('[data-testid="publish-state"][data-state="connected"]', { timeout: 20_000 });
    // The preview shows the local camera.
    await page.waitForFunction(() => (document.querySelector<HTMLVideoElement>('[data-testid="publish-preview"]')?.videoWidth ?? 0) > 0);

    // The camera goes live through ingest, and privacy redacts the faces in its frames.
    await expect.poll(async () => (await cameraView('phone')).health.state, { timeout: 30_000 }).toBe('live');
    await expect.poll(async () => (await t.runtime.web.wall.snapshot('phone'))?.meta.redaction.faces.length ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
    const snap = await t.runtime.web.wall.snapshot('phone');
    expect(snap!.meta.width).toBe(480);

    // The wall plays the published camera as redacted WebRTC video.
    const wall = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await wall.goto(t.url);
    await wall.waitForSelector('[data-testid="camera-tile"][data-camera="phone"][data-video="playing"]', { timeout: 40_000 });
    await wall.waitForFunction(
      () => (document.querySelector<HTMLVideoElement>('[data-camera="phone"] video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0) > 10,
      undefined,
      { timeout: 20_000 },
    );
    await wall.close();
    expect(errors).toEqual([]);
  });

  it('a publisher that stops sending goes stalled, then down; Stop ends the session', async () => {
    // Stop the camera track under the connection: no more video, no DELETE.
    await page.evaluate(() => {
      const stream = document.querySelector<HTMLVideoElement>('[data-testid="publish-preview"]')!.srcObject as MediaStream;
      for (const track of stream.getTracks()) track.stop();
    });
    await expect.poll(async () => (await cameraView('phone')).health.state, { timeout: 20_000 }).toBe('stalled');
    await expect.poll(async () => (await cameraView('phone')).health.state, { timeout: 30_000 }).toBe('down');
    expect((await cameraView('phone')).health.lastError).toMatch(/publisher|no video/);
    expect(t.runtime.whip!.stats()).toEqual([]);
    await page.click('[data-testid="publish-stop"]');
    await page.waitForSelector('[data-testid="publish-state"][data-state="stopped"]');
    await page.close();
  });
});

describe('WHIP endpoint errors', () => {
  const whip = (camera: string, body: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${t.url}/whip/${camera}`, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body });

  async function publisherOffer(codec: 'vp8' | 'h264'): Promise<{ pc: RTCPeerConnection; sdp: string }> {
    const pc = new RTCPeerConnection(peerConfig({ address: '127.0.0.1', portRange: null }, [codec === 'vp8' ? VP8_CODEC() : H264_CODEC()]));
    pc.addTransceiver('video', { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    return { pc, sdp: pc.localDescription!.sdp };
  }

  it('wants the camera\'s token, a WebRTC camera and a usable offer; one publisher at a time', async () => {
    const token = await issueToken('phone');
    const a = await publisherOffer('vp8');
    const b = await publisherOffer('h264');
    try {
      const noAuth = await whip('phone', a.sdp);
      expect(noAuth.status).toBe(401);
      expect(noAuth.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(((await noAuth.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
      const wrong = await whip('phone', a.sdp, { authorization: 'Bearer ctp_wrong' });
      expect(wrong.status).toBe(401);
      expect(((await wrong.json()) as { error: string }).error).toMatch(/wrong or was replaced/);
      expect((await whip('nope', a.sdp, { authorization: `Bearer ${token}` })).status).toBe(404);
      const notWebrtc = await whip('lobby', a.sdp, { authorization: `Bearer ${token}` });
      expect(notWebrtc.status).toBe(409);
      expect(((await notWebrtc.json()) as { error: string }).error).toMatch(/not a WebRTC camera/);
      const bad = await whip('phone', 'v=0\r\nnonsense', { authorization: `Bearer ${token}` });
      expect(bad.status).toBe(400);
      expect((await fetch(`${t.url}/api/cameras/lobby/publish-token`, { method: 'POST' })).status).toBe(409);

      const ok = await whip('phone', a.sdp, { authorization: `Bearer ${token}` });
      expect(ok.status, await ok.clone().text()).toBe(201);
      expect(await ok.text()).toMatch(/a=recvonly/);
      const location = ok.headers.get('location')!;
      expect(location).toMatch(/^\/whip\/phone\/[A-Za-z0-9_-]+$/);
      const second = await whip('phone', b.sdp, { authorization: `Bearer ${token}` });
      expect(second.status).toBe(409);
      expect(((await second.json()) as { error: string }).error).toMatch(/already has a publisher/);
      // DELETE needs the token too, and ends the session.
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE' })).status).toBe(401);
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(204);
      expect((await fetch(`${t.url}${location}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status).toBe(404);
      expect(t.runtime.whip!.stats()).toEqual([]);
      // A new token replaces the old one.
      await issueToken('phone');
      expect((await whip('phone', b.sdp, { authorization: `Bearer ${token}` })).status).toBe(401);
    } finally {
      await a.pc.close();
      await b.pc.close();
    }
  });
});
