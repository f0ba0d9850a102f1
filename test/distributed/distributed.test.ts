import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, CameraView, RecordingIndexResponse, SystemHealth } from '@chronotrace/contracts';
import { DATABASE_URL, NATS_URL, REDIS_URL, assertServicesUp, deleteStreams, dropSchema, pgAdmin } from './infra';
import { BusObserver, WallWatcher, queryAndFirstAlert } from './observers';
import { assertAlive, childEnv, freePort, spawnStage, stopStage, waitUntil, type StageProcess } from './processes';

/**
 * Distributed mode as deployed: web, ingest, two privacy replicas and analytics, each its own process, on the
 * machine's real NATS JetStream, PostgreSQL and Redis. Isolated per run by a fresh DATABASE_SCHEMA and
 * BUS_PREFIX, both removed afterwards. The steps share one deployment and run in order.
 */

const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const SCHEMA = `ct_dist_${run}`;
const PREFIX = `CTD_${run}`;
/** JetStream redelivers an unacked frame after this long (the privacy consumer's default ackWait). */
const ACK_WAIT_MS = 10_000;
/** A dead privacy process's camera leases lapse after this long (PrivacyService's default lease TTL). */
const LEASE_TTL_MS = 6_000;

let tmp = '';
let url = '';
const procs: StageProcess[] = [];
let web: StageProcess;
let ingest: StageProcess;
let privacy: StageProcess[] = [];
let analytics: StageProcess;
let wall: WallWatcher | undefined;
let bus: BusObserver | undefined;
let failed = false;
/** Set by step 4: when the privacy replica was killed. */
let killedAt = 0;

/** Why the deployment could not be set up (services down…): every test then fails with it, none is skipped. */
let setupError: unknown;
/** True once the services answered: from then on there is a schema and streams to remove. */
let deployed = false;
const guard = (): void => {
  if (setupError) throw setupError;
  assertAlive(procs);
};

async function getJson<T>(path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as T };
}

async function cameraState(id: string): Promise<string | undefined> {
  const { status, body } = await getJson<CameraView[]>('/api/cameras');
  if (status !== 200) return undefined;
  return body.find((c) => c.id === id)?.health.state;
}

function dumpDiagnostics(reason: string): void {
  const parts = [`\n===== distributed test diagnostics (${reason}); schema ${SCHEMA}, prefix ${PREFIX} =====`];
  for (const p of procs) {
    parts.push(`----- ${p.name} pid ${p.pid} exit ${p.exitInfo ? `code=${p.exitInfo.code} signal=${p.exitInfo.signal}` : 'running'} -----`);
    parts.push(p.tail(process.env.CT_DIST_VERBOSE ? 2_000 : 80));
  }
  if (wall) {
    const byCam = new Map<string, number>();
    for (const f of wall.frames) byCam.set(f.camera, (byCam.get(f.camera) ?? 0) + 1);
    parts.push(`----- socket frames: ${JSON.stringify(Object.fromEntries(byCam))} -----`);
  }
  if (bus) parts.push(`----- privacy stats: ${JSON.stringify(Object.fromEntries(bus.latest))} -----`);
  process.stderr.write(`${parts.join('\n')}\n`);
}

beforeAll(async () => {
  try {
    await setUp();
  } catch (e) {
    // Not thrown here: vitest would then report the tests as skipped. Each test fails with it instead.
    setupError = e;
  }
}, 30_000);

async function setUp(): Promise<void> {
  await assertServicesUp();
  deployed = true;
  tmp = await mkdtemp(join(tmpdir(), 'ct-dist-'));
  const config = join(tmp, 'streams.config.ts');
  await writeFile(
    config,
    `export default { cameras: [{ id: 'dist-a', name: 'A', source: 'testsrc:testsrc2', fps: 2, width: 320 }] };\n`,
  );
  const port = await freePort();
  const mediaPort = await freePort();
  url = `http://127.0.0.1:${port}`;
  const env = childEnv({
    MEDIA_HTTP_PORT: String(mediaPort),
    MEDIA_URL: `http://127.0.0.1:${mediaPort}`,
    MODE: 'distributed',
    PORT: String(port),
    HOST: '127.0.0.1',
    CHRONOTRACE_CONFIG: config,
    NATS_URL,
    DATABASE_URL,
    DATABASE_SCHEMA: SCHEMA,
    REDIS_URL,
    BUS_PREFIX: PREFIX,
    DATA_DIR: join(tmp, 'data'),
    LOG_LEVEL: 'info',
    PRIVACY_REPLICAS: '1',
    // The machine's NATS takes anonymous clients (it is bound to loopback); supervisor.test.ts runs one with a password.
    NATS_ALLOW_ANONYMOUS: 'true',
  });
  bus = await BusObserver.start(NATS_URL, PREFIX);
  web = spawnStage('web', 'web/server/main.ts', env);
  ingest = spawnStage('ingest', 'media-server/src/main.ts', env);
  privacy = [spawnStage('privacy-1', 'pipeline/src/privacy/main.ts', env), spawnStage('privacy-2', 'pipeline/src/privacy/main.ts', env)];
  analytics = spawnStage('analytics', 'pipeline/src/analytics/main.ts', { ...env, ANALYTICS_PARTITION: '0/1' });
  procs.push(web, ingest, ...privacy, analytics);
}

afterEach((ctx) => {
  if (ctx.task.result?.state === 'fail' && !failed) {
    failed = true;
    dumpDiagnostics(`"${ctx.task.name}" failed`);
  }
});

afterAll(async () => {
  // CT_DIST_VERBOSE=1 prints every process' output even when all passed.
  if (process.env.CT_DIST_VERBOSE) {
    if (!failed) dumpDiagnostics('CT_DIST_VERBOSE');
    const durables = await bus?.durables().catch((e: unknown) => String(e));
    process.stderr.write(`----- durables left on the streams: ${JSON.stringify(durables)} -----\n`);
  }
  wall?.close();
  await bus?.close().catch(() => undefined);
  // Whatever is still running (a failed step left it so) is ours: kill it by its own handle.
  await Promise.all(procs.map((p) => stopStage(p, 'SIGKILL', 5_000)));
  const errors: unknown[] = [];
  if (deployed) {
    await dropSchema(SCHEMA).catch((e: unknown) => errors.push(e));
    await deleteStreams(PREFIX).catch((e: unknown) => errors.push(e));
  }
  if (tmp) await rm(tmp, { recursive: true, force: true });
  if (errors.length > 0) throw new AggregateError(errors, 'distributed test cleanup failed');
}, 30_000);

describe('distributed mode: web + ingest + 2 privacy replicas + analytics as separate processes', () => {
  it('starts: /api/health answers 200 in distributed mode', async () => {
    guard();
    const health = await waitUntil(
      'GET /api/health = 200',
      async () => {
        const r = await getJson<SystemHealth>('/api/health');
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: 30_000, guard },
    );
    expect(health.mode).toBe('distributed');
    expect(health.components.bus).toEqual({ state: 'ok', detail: 'jetstream' });
    expect(health.components.store).toEqual({ state: 'ok', detail: 'postgres' });
    expect(health.components.redis?.state).toBe('ok');
    // Ingest and privacy run in other processes: the web judges them by their reports on the bus.
    const both = await waitUntil(
      'both privacy replicas and ingest reporting',
      async () => {
        const r = await getJson<SystemHealth>('/api/health');
        const c = r.body.components;
        return c.privacy?.detail === '2 replicas reporting' && c.ingest?.state === 'ok' && c.analytics?.state === 'ok' ? r.body : undefined;
      },
      { timeoutMs: 20_000, guard },
    );
    expect(both.components.privacy?.state).toBe('ok');
    expect(both.components.analytics?.detail).toBe('1 partitions reporting');
  }, 60_000);

  it('a standing query created through the web API fires in the separate analytics process; the alert reaches the socket and the store', async () => {
    guard();
    // The test pattern shows no people, so a count query that holds at zero fires.
    const { query: q, alert } = await queryAndFirstAlert(url, 'fewer than 3 people on camera A', { timeoutMs: 30_000, guard });
    expect(q.plan.count).toEqual({ op: '<', n: 3 });
    expect(alert).toMatchObject({ camera: 'dist-a', kind: 'count', hasSnapshot: true });
    // Stored and published at the same time (for latency): the socket may be first by a few ms.
    await waitUntil('the alert in the store', async () => (await getJson<Alert[]>(`/api/alerts?query=${q.id}`)).body.some((a) => a.id === alert.id), { timeoutMs: 10_000, guard });
    const snap = await fetch(`${url}/api/alerts/${alert.id}/snapshot.jpg`);
    expect(snap.status).toBe(200);
    // Disarm, so later steps see no more of it.
    const off = await fetch(`${url}/api/queries/${q.id}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ armed: false }) });
    expect(off.status).toBe(200);
  }, 60_000);

  it('the config camera goes live and only redacted frames reach the socket; snapshot is a JPEG', async () => {
    guard();
    await waitUntil('dist-a live in /api/cameras', async () => (await cameraState('dist-a')) === 'live', { timeoutMs: 30_000, guard });
    wall = await WallWatcher.connect(url);
    const w = wall;
    await waitUntil('3 dist-a frames on the socket', () => w.of('dist-a').length >= 3, { timeoutMs: 15_000, guard });
    expect(w.frames.every((f) => f.redacted)).toBe(true);
    expect(w.frames.every((f) => f.jpegBytes > 0)).toBe(true);

    const snap = await fetch(`${url}/api/cameras/dist-a/snapshot.jpg`);
    expect(snap.status).toBe(200);
    expect(snap.headers.get('content-type')).toBe('image/jpeg');
    const jpeg = new Uint8Array(await snap.arrayBuffer());
    expect([jpeg[0], jpeg[1]]).toEqual([0xff, 0xd8]);
  }, 50_000);

  it('the media server records the camera; the web reports its recorder state and serves its segments', async () => {
    guard();
    const rec = await waitUntil(
      'a recorded segment of dist-a, with the recorder state reported to the web',
      async () => {
        const r = (await (await fetch(`${url}/api/cameras/dist-a/recording`)).json()) as RecordingIndexResponse;
        return r.segments.length > 0 && r.health.state !== null ? r : undefined;
      },
      { timeoutMs: 40_000, guard },
    );
    expect(rec.health).toMatchObject({ state: 'recording', error: null });
    expect(rec.health.segments).toBeGreaterThan(0);
    const playlist = await (await fetch(`${url}/api/cameras/dist-a/recording.m3u8`)).text();
    const first = /^(\/api\/cameras\/dist-a\/recording\/[^\s]+\.m4s)$/m.exec(playlist)?.[1];
    expect(first, playlist).toBeDefined();
    const seg = await fetch(`${url}${first}`);
    expect(seg.status).toBe(200);
    expect((await seg.arrayBuffer()).byteLength).toBe(rec.segments[0]!.bytes);
  }, 50_000);

  it('a camera added through the web API is started by the separate ingest process, and stopped on DELETE', async () => {
    guard();
    const w = wall!;
    const post = await fetch(`${url}/api/cameras`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'dist-b', name: 'B', location: '', source: 'testsrc:smptebars' }),
    });
    expect(post.status, await post.clone().text()).toBe(201);
    expect(((await post.json()) as CameraView).origin).toBe('api');

    await waitUntil('3 dist-b frames on the socket', () => w.of('dist-b').length >= 3, { timeoutMs: 20_000, guard });
    expect(w.of('dist-b').every((f) => f.redacted)).toBe(true);

    const del = await fetch(`${url}/api/cameras/dist-b`, { method: 'DELETE' });
    expect(del.status).toBe(204);
    const list = await getJson<CameraView[]>('/api/cameras');
    expect(list.body.map((c) => c.id)).toEqual(['dist-a']);

    // Its frames stop: in-flight ones drain, then none for 3 s while dist-a keeps flowing.
    await waitUntil(
      'dist-b frames to stop',
      () => {
        const last = w.of('dist-b').at(-1);
        return last !== undefined && Date.now() - last.receivedAt > 3_000;
      },
      { timeoutMs: 15_000, guard },
    );
    const quietSince = Date.now() - 3_000;
    expect(w.of('dist-a', quietSince).length).toBeGreaterThan(0);
  }, 50_000);

  it('killing the privacy process that owns a camera (SIGKILL) mid-stream: the other takes the camera over; records have no duplicates', async () => {
    guard();
    const w = wall!;
    const s = bus!;
    // Cameras are partitioned among the privacy processes (one holds a camera's perception state): find dist-a's owner.
    const [owner, other] = await waitUntil(
      'one privacy process to be redacting dist-a',
      () => {
        const o = privacy.find((p) => s.processedBy(p.pid, 'dist-a') > 0);
        return o ? ([o, privacy.find((p) => p !== o)!] as const) : undefined;
      },
      { timeoutMs: 15_000, guard },
    );
    const otherBefore = s.processedBy(other.pid, 'dist-a');
    owner.expectedExit = true;
    killedAt = Date.now();
    const exit = await stopStage(owner, 'SIGKILL', 5_000);
    expect(exit?.signal).toBe('SIGKILL');
    // Everything JetStream had handed out on the camera's durable up to now, the victim's unacked share included.
    const atKill = await s.consumer('FRAMES_RAW', 'privacy-dist-a');
    const deliveredAtKill = atKill.delivered.stream_seq;

    // Once the dead owner's leases lapse the other process takes dist-a: frames captured after the kill arrive, redacted.
    await waitUntil('4 dist-a frames captured after the kill', () => w.frames.filter((f) => f.camera === 'dist-a' && f.capturedAt > killedAt).length >= 4, {
      timeoutMs: LEASE_TTL_MS + ACK_WAIT_MS + 5_000,
      guard,
    });
    const after = w.frames.filter((f) => f.receivedAt > killedAt);
    expect(after.every((f) => f.redacted)).toBe(true);
    await waitUntil('the other process to report dist-a frames', () => s.processedBy(other.pid, 'dist-a') > otherBefore, { timeoutMs: 6_000, guard });
    // Takeover: whatever the victim held unacked is redelivered after ackWait and settled by the new owner,
    // so the durable's ack floor passes every message delivered before the kill.
    await waitUntil(
      `the dist-a durable's ack floor to pass stream seq ${deliveredAtKill}`,
      async () => {
        const c = await s.consumer('FRAMES_RAW', 'privacy-dist-a');
        return c.ack_floor.stream_seq >= deliveredAtKill;
      },
      { timeoutMs: ACK_WAIT_MS + 8_000, everyMs: 500, guard },
    );

    // Redelivered frames are deduplicated (msgId = frameId): no frame reaches the wall twice. (The first
    // second is left out: on connect the wall replays each camera's latest frame, which can race a live push.)
    const ids = w.frames.filter((f) => f.receivedAt > w.connectedAt + 1_000).map((f) => f.frameId);
    expect(ids.length - new Set(ids).size, 'frames pushed twice to the socket').toBe(0);

    // The audit trail in PostgreSQL: one record per frame, both cameras covered.
    const sql = pgAdmin();
    try {
      const rows = await sql.unsafe<{ camera: string; n: string; distinct_ids: string }[]>(
        `SELECT camera, count(*) AS n, count(DISTINCT frame_id) AS distinct_ids FROM "${SCHEMA}".redaction_records GROUP BY camera ORDER BY camera`,
      );
      const byCam = Object.fromEntries(rows.map((r) => [r.camera, { n: Number(r.n), distinct: Number(r.distinct_ids) }]));
      expect(Object.keys(byCam).sort()).toEqual(['dist-a', 'dist-b']);
      for (const [cam, c] of Object.entries(byCam)) {
        expect(c.n, `records of ${cam}`).toBeGreaterThan(0);
        expect(c.distinct, `duplicate frame ids among ${cam}'s records`).toBe(c.n);
      }
      // Every frame the wall showed has its record (settled frames only: those received ≥ 2 s ago and
      // clear of the kill, where the victim may have published without having written the record yet).
      const shown = w.frames.filter((f) => Date.now() - f.receivedAt > 2_000 && (f.capturedAt < killedAt - 2_000 || f.capturedAt > killedAt + ACK_WAIT_MS));
      const recorded = await sql.unsafe<{ frame_id: string }[]>(`SELECT frame_id FROM "${SCHEMA}".redaction_records WHERE frame_id = ANY($1)`, [
        shown.map((f) => f.frameId),
      ]);
      const have = new Set(recorded.map((r) => r.frame_id));
      expect(shown.filter((f) => !have.has(f.frameId)).map((f) => f.frameId)).toEqual([]);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }, 60_000);

  it('SIGTERM drains every remaining process: each exits 0 within 15 s', async () => {
    guard();
    wall?.close();
    const alive = procs.filter((p) => !p.expectedExit);
    expect(alive.map((p) => p.name).filter((n) => !n.startsWith('privacy'))).toEqual(['web', 'ingest', 'analytics']);
    expect(alive.filter((p) => p.name.startsWith('privacy'))).toHaveLength(1);
    const started = Date.now();
    const exits = await Promise.all(alive.map(async (p) => ({ name: p.name, exit: await stopStage(p, 'SIGTERM', 15_000), ms: Date.now() - started })));
    for (const e of exits) {
      expect(e.exit, `${e.name} did not exit within 15 s of SIGTERM`).not.toBeNull();
      expect(e.exit, `${e.name} exit after ${e.ms} ms`).toEqual({ code: 0, signal: null });
    }
  }, 20_000);
});
