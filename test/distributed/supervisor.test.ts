import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CameraView, PublishTokenIssued, SystemHealth } from '@chronotrace/contracts';
import { chromium } from 'playwright-core';
import { CHROMIUM_PATH } from '../support/chromium';
import { NatsServerProcess } from '../support/nats-server';
import { DATABASE_URL, REDIS_URL, assertServicesUp, dropSchema } from './infra';
import { WallWatcher, queryAndFirstAlert } from './observers';
import { childEnv, freePort, isAlive as alive, spawnStage, stopStage, waitUntil, type StageProcess } from './processes';

/**
 * `npm run start:distributed` as an operator runs it: the supervisor script starts web, ingest, privacy,
 * analytics and re-ID as processes, on a NATS of its own that needs a password (so the broker can be restarted
 * without touching the machine's). A privacy process killed with SIGKILL is started again while the others
 * run on; the broker stopped and started again with the same store: frames and alerts flow again, none twice.
 */

const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const SCHEMA = `ct_sup_${run}`;
const NATS_USER = 'chronotrace';
const NATS_PASSWORD = randomBytes(12).toString('hex');

let nats: NatsServerProcess | undefined;
let supervisor: StageProcess | undefined;
let tmp = '';
let url = '';
let wall: WallWatcher | undefined;
let setupError: unknown;
let failed = false;

interface Started {
  process: string;
  pid: number;
  at: number;
}
/** The supervisor's 'process started' log lines, in order. */
function started(): Started[] {
  const out: Started[] = [];
  for (const line of supervisor?.lines() ?? []) {
    if (!line.includes('"msg":"process started"')) continue;
    const rec = JSON.parse(line.slice(line.indexOf('{'))) as { process: string; pid: number; time: number };
    out.push({ process: rec.process, pid: rec.pid, at: rec.time });
  }
  return out;
}
const pidOf = (name: string): number | undefined => started().filter((s) => s.process === name).at(-1)?.pid;
const guard = (): void => {
  if (setupError) throw setupError;
  if (supervisor?.exitInfo) throw new Error(`the supervisor exited (code ${supervisor.exitInfo.code}):\n${supervisor.tail(60)}`);
};

beforeAll(async () => {
  try {
    await assertServicesUp();
    nats = await NatsServerProcess.start(['--user', NATS_USER, '--pass', NATS_PASSWORD]);
    tmp = await mkdtemp(join(tmpdir(), 'ct-sup-'));
    const config = join(tmp, 'streams.config.ts');
    await writeFile(
      config,
      `export default { cameras: [{ id: 'sup-a', name: 'A', source: 'testsrc:testsrc2', fps: 4, width: 320 }, { id: 'sup-phone', name: 'Phone', source: 'webrtc', fps: 5, width: 320 }] };\n`,
    );
    const port = await freePort();
    const mediaPort = await freePort();
    url = `http://127.0.0.1:${port}`;
    supervisor = spawnStage(
      'start-distributed',
      'scripts/start-distributed.ts',
      childEnv({
        PORT: String(port),
        HOST: '127.0.0.1',
        CHRONOTRACE_CONFIG: config,
        NATS_URL: nats.url,
        NATS_USER,
        NATS_PASSWORD,
        DATABASE_URL,
        DATABASE_SCHEMA: SCHEMA,
        REDIS_URL,
        BUS_PREFIX: 'CTS',
        DATA_DIR: join(tmp, 'data'),
        LOG_LEVEL: 'info',
        PRIVACY_PROCESSES: '1',
        PRIVACY_REPLICAS: '1',
        ANALYTICS_PROCESSES: '1',
        MEDIA_HTTP_PORT: String(mediaPort),
        MEDIA_URL: `http://127.0.0.1:${mediaPort}`,
        WEBRTC_ADDRESS: '127.0.0.1',
      }),
    );
  } catch (e) {
    setupError = e;
  }
}, 30_000);

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail' && !failed) {
    failed = true;
    process.stderr.write(`\n===== supervisor test diagnostics =====\n${supervisor?.tail(150) ?? ''}\n`);
  }
});

afterAll(async () => {
  wall?.close();
  const pids = started().map((s) => s.pid);
  if (supervisor) await stopStage(supervisor, 'SIGKILL', 5_000);
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await nats?.dispose();
  await dropSchema(SCHEMA).catch(() => undefined);
  if (tmp) await rm(tmp, { recursive: true, force: true });
}, 30_000);

describe('npm run start:distributed: supervised processes on a password-protected NATS', () => {
  it('starts every process; redacted frames reach the wall', async () => {
    guard();
    await waitUntil(
      'GET /api/health = 200',
      async () => {
        const r = await fetch(`${url}/api/health`);
        const body = (await r.json()) as SystemHealth;
        return r.status === 200 && body.components.privacy?.state === 'ok' ? body : undefined;
      },
      { timeoutMs: 60_000, guard },
    );
    expect(started().map((s) => s.process).sort()).toEqual(['analytics-0', 'ingest', 'privacy-1', 'reid', 'web']);
    wall = await WallWatcher.connect(url);
    const w = wall;
    await waitUntil('3 frames on the wall', () => w.of('sup-a').length >= 3, { timeoutMs: 30_000, guard });
    expect(w.frames.every((f) => f.redacted)).toBe(true);
  }, 90_000);

  it('a privacy process killed with SIGKILL is started again; the others keep running', async () => {
    guard();
    const w = wall!;
    const before = new Map(['web', 'ingest', 'analytics-0', 'reid'].map((n) => [n, pidOf(n)]));
    const victim = pidOf('privacy-1')!;
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const replacement = await waitUntil('privacy-1 started again', () => {
      const p = pidOf('privacy-1');
      return p !== undefined && p !== victim ? p : undefined;
    }, { timeoutMs: 20_000, guard });
    expect(alive(replacement)).toBe(true);
    expect(supervisor!.lines().some((l) => l.includes('"msg":"process exited; restarting it"') && l.includes('"signal":"SIGKILL"'))).toBe(true);
    await waitUntil('frames captured after the kill on the wall', () => w.frames.filter((f) => f.capturedAt > killedAt).length >= 3, { timeoutMs: 60_000, guard });
    for (const [name, pid] of before) {
      expect(pidOf(name), `${name} was restarted`).toBe(pid);
      expect(alive(pid!), `${name} is not running`).toBe(true);
    }
  }, 90_000);

  it('NATS stopped and started again with the same store: frames and alerts flow again, none twice', async () => {
    guard();
    const w = wall!;
    await nats!.stop();
    const downAt = Date.now();
    // Meanwhile the web answers, and says the bus is down.
    await waitUntil(
      '/api/health to report the bus down',
      async () => {
        const r = await fetch(`${url}/api/health`);
        return r.status === 503 && ((await r.json()) as SystemHealth).components.bus?.state === 'down';
      },
      { timeoutMs: 20_000, guard },
    );
    await nats!.startAgain();
    const upAt = Date.now();
    await waitUntil('frames captured after the restart on the wall', () => w.frames.filter((f) => f.capturedAt > upAt).length >= 3, { timeoutMs: 60_000, guard });

    // A query registered now fires in the analytics process and reaches the wall (the test pattern has no people).
    const { alert, alerts } = await queryAndFirstAlert(url, 'fewer than 3 people on camera A', { timeoutMs: 60_000, guard });
    expect(alert.camera).toBe('sup-a');
    expect(alert.capturedAt).toBeGreaterThan(downAt);
    const ids = w.frames.filter((f) => f.receivedAt > w.connectedAt + 1_000).map((f) => f.frameId);
    expect(ids.length - new Set(ids).size, 'frames pushed twice to the wall').toBe(0);
    expect(alerts.length - new Set(alerts.map((a) => a.id)).size, 'alerts pushed twice').toBe(0);
  }, 150_000);

  it('a phone publishes over WHIP through the web (proxied to the media server): its frames are redacted and reach the wall', async () => {
    guard();
    const w = wall ?? (wall = await WallWatcher.connect(url));
    const y4m = join(tmp, 'phone.y4m');
    const made = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=480x360:rate=10', '-t', '2', '-pix_fmt', 'yuv420p', '-f', 'yuv4mpegpipe', y4m]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const issued = await fetch(`${url}/api/cameras/sup-phone/publish-token`, { method: 'POST' });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as PublishTokenIssued;
    // A wrong token is refused by the media server, through the proxy, with its reason.
    const refused = await fetch(`${url}/whip/sup-phone`, { method: 'POST', headers: { 'content-type': 'application/sdp', authorization: 'Bearer nope' }, body: 'v=0\r\n' });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${y4m}`],
    });
    try {
      const page = await browser.newPage();
      await page.goto(`${url}/publish?camera=sup-phone`);
      await page.fill('[data-testid="publish-token"]', token);
      await page.click('[data-testid="publish-start"]');
      await page.waitForSelector('[data-testid="publish-state"][data-state="connected"]', { timeout: 20_000 });
      await waitUntil(
        'sup-phone live',
        async () => ((await (await fetch(`${url}/api/cameras`)).json()) as CameraView[]).find((c) => c.id === 'sup-phone')?.health.state === 'live',
        { timeoutMs: 40_000, guard },
      );
      await waitUntil('3 redacted sup-phone frames on the wall', () => w.of('sup-phone').length >= 3, { timeoutMs: 30_000, guard });
      expect(w.of('sup-phone').every((f) => f.redacted)).toBe(true);
      await page.click('[data-testid="publish-stop"]');
      await page.waitForSelector('[data-testid="publish-state"][data-state="stopped"]');
    } finally {
      await browser.close();
    }
  }, 120_000);

  it('SIGTERM to the supervisor drains every process and exits 0', async () => {
    guard();
    wall?.close();
    const pids = ['web', 'ingest', 'privacy-1', 'analytics-0', 'reid'].map((n) => pidOf(n)!);
    const exit = await stopStage(supervisor!, 'SIGTERM', 30_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(pids.filter(alive)).toEqual([]);
  }, 40_000);
});
