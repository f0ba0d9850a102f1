/**
 * webrtc_ingest_ms: how long a WebRTC camera's picture takes from the publisher to ingest. A real
 * headless Chromium publishes from the real publish page (WHIP), its camera replaced by a canvas that
 * draws, on every frame, the time it was drawn as a row of black and white blocks (24 bits of
 * Date.now() mod 2^24 and an 8-bit check). Ingest's raw frames of that camera (frames.raw, before
 * privacy) are read back: ingest time (meta.capturedAt) − drawn time, for the first ingest frame of
 * each drawn picture. Chromium and this process read the same system clock.
 */
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import type { PublishTokenIssued } from '@chronotrace/contracts';
import type { Runtime as RuntimeT } from '../web/server/runtime';
import { CHROMIUM, dist, launchChromium } from './browser-wall';

export interface WebrtcIngestResult {
  p50: number | null;
  p99: number | null;
  /** Ingest frames whose code was read (one per drawn picture). */
  count: number;
  /** Ingest frames of the camera whose code could not be read (check failed). */
  unreadable: number;
  how: string;
}

const W = 640;
const H = 480;
const BITS = 32;
const BLOCK = W / BITS;
const ROW_Y = 400;
const ROW_H = 40;
const MOD = 2 ** 24;

const check = (v: number): number => (((v & 0xff) + ((v >> 8) & 0xff) + ((v >> 16) & 0xff)) & 0xff) ^ 0xa5;

/** The publisher's camera: a canvas with the drawn time in blocks, something moving above it (a live scene for the encoder). */
const FAKE_CAMERA = `
(() => {
  const W = ${W}, H = ${H}, BITS = ${BITS}, BLOCK = ${BLOCK}, ROW_Y = ${ROW_Y}, ROW_H = ${ROW_H}, MOD = ${MOD};
  const check = ${check.toString()};
  const canvas = document.createElement('canvas');
  canvas.width = W; canvas.height = H;
  const g = canvas.getContext('2d');
  let n = 0;
  const draw = () => {
    const now = Date.now();
    g.fillStyle = '#607080'; g.fillRect(0, 0, W, H);
    g.fillStyle = '#d0a040'; g.fillRect((n * 7) % (W - 80), 120, 80, 160);
    n++;
    const v = now % MOD;
    const word = v + check(v) * MOD;
    for (let i = 0; i < BITS; i++) {
      g.fillStyle = Math.floor(word / 2 ** i) % 2 === 1 ? '#ffffff' : '#000000';
      g.fillRect(i * BLOCK, ROW_Y, BLOCK, ROW_H);
    }
  };
  draw();
  setInterval(draw, 33);
  const stream = canvas.captureStream(30);
  navigator.mediaDevices.getUserMedia = async () => stream;
})();
`;

/** The drawn time (mod 2^24) in a raw frame, or null when the blocks do not read back with a valid check. */
async function readCode(jpeg: Uint8Array): Promise<number | null> {
  const { data, info } = await sharp(jpeg).greyscale().raw().toBuffer({ resolveWithObject: true });
  const sx = info.width / W;
  const sy = info.height / H;
  let word = 0;
  for (let i = 0; i < BITS; i++) {
    // Mean of the block's middle (away from edges the codecs smear).
    let sum = 0;
    let n = 0;
    for (let y = Math.round((ROW_Y + ROW_H * 0.3) * sy); y < Math.round((ROW_Y + ROW_H * 0.7) * sy); y++) {
      for (let x = Math.round((i * BLOCK + BLOCK * 0.3) * sx); x < Math.round((i * BLOCK + BLOCK * 0.7) * sx); x++) {
        sum += data[(y * info.width + x) * info.channels] ?? 0;
        n++;
      }
    }
    if (n > 0 && sum / n > 128) word += 2 ** i;
  }
  const v = word % MOD;
  return Math.floor(word / MOD) === check(v) ? v : null;
}

/**
 * Adds a WebRTC camera to the running runtime (the nominal cameras keep running: measured under load),
 * publishes to it from Chromium for `seconds` after `warmupS`, then removes it.
 */
export async function measureWebrtcIngest(rt: RuntimeT, warmupS: number, seconds: number): Promise<WebrtcIngestResult | { skipped: string }> {
  if (!existsSync(CHROMIUM)) return { skipped: `${CHROMIUM} is missing (apt-get install chromium)` };
  const camera = 'bench-whip';
  const api = (path: string, init?: RequestInit): Promise<Response> => fetch(`${rt.url}${path}`, init);
  const created = await api('/api/cameras', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ id: camera, name: 'Bench publisher', source: 'webrtc', fps: 10, width: W }),
  });
  if (created.status !== 201) throw new Error(`could not add the WebRTC camera: ${created.status} ${await created.text()}`);
  const codes = new Set<number>();
  const ages: number[] = [];
  let unreadable = 0;
  let measuring = false;
  const reads: Promise<void>[] = [];
  const consumer = await rt.ports.bus.consume('frames.raw', { durable: 'bench-webrtc-ingest', batch: 16, deliverFrom: 'new' }, async (msgs) => {
    for (const m of msgs) {
      const body = m.envelope.body;
      if (measuring && m.camera === camera && body) {
        const at = m.envelope.meta.capturedAt;
        const bytes = body.slice();
        reads.push(
          readCode(bytes).then(
            (code) => {
              if (code === null) return void unreadable++;
              if (codes.has(code)) return;
              codes.add(code);
              // The drawn time: the latest time before ingest with this remainder.
              ages.push((((at % MOD) - code) % MOD + MOD) % MOD);
            },
            () => void unreadable++,
          ),
        );
      }
      m.ack();
    }
  });
  const browser = await launchChromium(['--use-fake-ui-for-media-stream']);
  try {
    const token = await api(`/api/cameras/${camera}/publish-token`, { method: 'POST' });
    if (token.status !== 201) throw new Error(`no publish token: ${token.status}`);
    const { token: secret } = (await token.json()) as PublishTokenIssued;
    const page = await browser.newPage();
    await page.addInitScript(FAKE_CAMERA);
    await page.goto(`${rt.url}/publish?camera=${camera}`);
    await page.waitForSelector(`[data-testid="publish-camera"] option[value="${camera}"]`, { state: 'attached', timeout: 20_000 });
    await page.fill('[data-testid="publish-token"]', secret);
    await page.click('[data-testid="publish-start"]');
    await page.waitForSelector('[data-testid="publish-state"][data-state="connected"]', { timeout: 30_000 });
    await new Promise((r) => setTimeout(r, warmupS * 1000));
    measuring = true;
    await new Promise((r) => setTimeout(r, seconds * 1000));
    measuring = false;
    await page.click('[data-testid="publish-stop"]').catch(() => undefined);
    await Promise.all(reads);
  } finally {
    await browser.close();
    await consumer.close();
    await api(`/api/cameras/${camera}`, { method: 'DELETE' });
  }
  return {
    ...dist(ages),
    unreadable,
    how: `Chromium publishes a ${W}×${H} canvas at 30 fps from /publish (WHIP) while the nominal cameras run; each picture carries its drawn time (Date.now()) in blocks; webrtc_ingest = ingest's capturedAt − drawn time, first ingest frame of each picture, ${seconds} s after ${warmupS} s`,
  };
}
