import { describe, expect, it } from 'vitest';
import { QUERY_PLAN_VERSION, type AlertMessage, type SceneTrack, type StandingQuery, type WebhookPayload } from '@chronotrace/contracts';
import { storeTargets, withStore } from './store-targets';
import type { SceneFrameRecord } from '../src/index';

const T0 = 1_732_000_000_123;

function query(id: string, overrides: Partial<StandingQuery> = {}): StandingQuery {
  return {
    id,
    text: 'person with a red backpack in the loading bay',
    plan: { version: QUERY_PLAN_VERSION, subject: { classes: ['person'], carrying: [{ classes: ['backpack'], colors: ['red'] }] }, zones: ['loading bay'] },
    explanation: 'a person carrying a red backpack, in zone "loading bay"',
    cameras: null,
    severity: 'warning',
    armed: true,
    version: 1,
    createdAt: T0,
    updatedAt: T0,
    ...overrides,
  };
}

function alert(id: string, overrides: Partial<AlertMessage> = {}): AlertMessage {
  const q = query('q1');
  return {
    id,
    queryId: q.id,
    queryText: q.text,
    queryVersion: 1,
    planVersion: QUERY_PLAN_VERSION,
    plan: q.plan,
    explanation: q.explanation,
    severity: 'critical',
    kind: 'track',
    camera: 'gate',
    frameId: `gate:1:${id}`,
    capturedAt: T0,
    firedAt: T0 + 40,
    tracks: [{ trackId: 'gate:x:1', label: 'person', box: { x: 1, y: 2, w: 30, h: 80 }, score: 0.9, colorScore: 1, zones: ['loading bay'], dwellSeconds: 2.5, carrying: ['backpack'] }],
    scores: { hysteresis: 0.6, detection: 0.9, color: 1 },
    reason: 'person carrying red backpack: 3 of the last 5 frames',
    models: [{ name: 'nanodet', version: 'm' }],
    frame: { width: 640, height: 480 },
    hasSnapshot: true,
    ...overrides,
  };
}

function sceneTrack(id: string, at: number): SceneTrack {
  return {
    id,
    camera: 'gate',
    label: 'person',
    box: { x: 10, y: 20, w: 30, h: 90 },
    score: 0.8,
    firstSeen: at - 1000,
    lastSeen: at,
    hits: 3,
    misses: 0,
    age: 1000,
    path: [{ at, x: 25, y: 110 }],
    velocity: { x: 1.5, y: -2 },
    speed: 2.5,
    dwell: { 'loading bay': 500 },
    zones: ['loading bay'],
    state: 'confirmed',
    attributes: { upper: { dominant: 'red', colors: [{ color: 'red', fraction: 0.7 }] } },
    carrying: ['backpack'],
  };
}

function payload(alertId: string): WebhookPayload {
  return { type: 'alert', deliveryId: `d-${alertId}`, alert: alert(alertId), snapshotUrl: `/api/alerts/${alertId}/snapshot.jpg` };
}

describe.each(storeTargets('alerts'))('Store contract (queries, alerts, scene, webhooks) on $kind', (target) => {
  it('counts alerts per hour and kind, per camera or all, within the range', () =>
    withStore(target, async (store) => {
      const H = 3_600_000;
      const hour0 = Math.floor(T0 / H) * H;
      await store.alerts.append(alert('a1', { kind: 'line', capturedAt: hour0 + 10 }), null);
      await store.alerts.append(alert('a2', { kind: 'line', capturedAt: hour0 + 20 }), null);
      await store.alerts.append(alert('a3', { kind: 'crowd', capturedAt: hour0 + 30, camera: 'yard' }), null);
      await store.alerts.append(alert('a4', { kind: 'track', capturedAt: hour0 + H + 5 }), null);
      await store.alerts.append(alert('a5', { kind: 'line', capturedAt: hour0 + 5 * H }), null);
      expect(await store.alerts.countsByHour(hour0, hour0 + 5 * H)).toEqual([
        { hour: hour0, kind: 'crowd', count: 1 },
        { hour: hour0, kind: 'line', count: 2 },
        { hour: hour0 + H, kind: 'track', count: 1 },
      ]);
      expect(await store.alerts.countsByHour(hour0, hour0 + 6 * H, 'yard')).toEqual([{ hour: hour0, kind: 'crowd', count: 1 }]);
    }));

  it('stores standing queries, updates only the expected version, and changes the fingerprint on every edit', () =>
    withStore(target, async (store) => {
      const f0 = await store.queries.fingerprint();
      expect(await store.queries.insert(query('q1'))).toBe(true);
      expect(await store.queries.insert(query('q1', { text: 'again' }))).toBe(false);
      const f1 = await store.queries.fingerprint();
      expect(f1).not.toBe(f0);
      expect(await store.queries.get('q1')).toEqual(query('q1'));
      const edited = query('q1', { armed: false, version: 2, updatedAt: T0 + 5, cameras: ['gate'] });
      expect(await store.queries.update(edited, 1)).toBe(true);
      expect(await store.queries.update(query('q1', { version: 3 }), 1)).toBe(false);
      expect(await store.queries.get('q1')).toEqual(edited);
      expect(await store.queries.fingerprint()).not.toBe(f1);
      await store.queries.insert(query('q2', { createdAt: T0 + 1 }));
      expect((await store.queries.list()).map((q) => q.id)).toEqual(['q1', 'q2']);
      expect((await store.queries.list({ armed: true })).map((q) => q.id)).toEqual(['q2']);
      const f2 = await store.queries.fingerprint();
      expect(await store.queries.delete('q2')).toBe(true);
      expect(await store.queries.delete('q2')).toBe(false);
      expect(await store.queries.fingerprint()).not.toBe(f2);
    }));

  it('appends an alert once per id with its snapshot, filters, lists newest first and keeps the first acknowledgement', () =>
    withStore(target, async (store) => {
      const jpeg = new Uint8Array([0xff, 0xd8, 0, 1, 2, 255, 0xff, 0xd9]);
      expect(await store.alerts.append(alert('a1'), jpeg)).toBe(true);
      expect(await store.alerts.append(alert('a1'), jpeg)).toBe(false);
      await store.alerts.append(alert('a2', { capturedAt: T0 + 10, camera: 'dock', queryId: 'q2', hasSnapshot: false }), null);
      expect(await store.alerts.count()).toBe(2);
      expect(await store.alerts.get('a1')).toEqual({ ...alert('a1'), ack: null });
      expect(await store.alerts.snapshot('a1')).toEqual(jpeg);
      expect(await store.alerts.snapshot('a2')).toBeNull();
      expect((await store.alerts.list()).map((a) => a.id)).toEqual(['a2', 'a1']);
      expect((await store.alerts.list({ camera: 'gate' })).map((a) => a.id)).toEqual(['a1']);
      expect((await store.alerts.list({ query: 'q2' })).map((a) => a.id)).toEqual(['a2']);
      expect((await store.alerts.list({ since: T0 + 1 })).map((a) => a.id)).toEqual(['a2']);
      expect((await store.alerts.list({ until: T0 + 1 })).map((a) => a.id)).toEqual(['a1']);
      expect((await store.alerts.list({ limit: 1 })).map((a) => a.id)).toEqual(['a2']);
      expect((await store.alerts.ack('a1', 'alice', T0 + 100))?.ack).toEqual({ by: 'alice', at: T0 + 100 });
      expect((await store.alerts.ack('a1', 'bob', T0 + 200))?.ack).toEqual({ by: 'alice', at: T0 + 100 });
      expect(await store.alerts.ack('nope', 'bob', T0)).toBeNull();
    }));

  it('stores scene frames once, reads a time range of some cameras oldest first, prunes, and upserts tracks', () =>
    withStore(target, async (store) => {
      // Two batches, the second repeating gate:0 (stored before, and twice in the batch): kept once, unchanged.
      const frame = (camera: string, i: number): SceneFrameRecord => ({ frameId: `${camera}:${i}`, camera, capturedAt: T0 + i * 500, width: 640, height: 480, tracks: [sceneTrack(`${camera}:t1`, T0 + i * 500)] });
      await store.scene.appendFrames([0, 1, 2].flatMap((i) => [frame('gate', i), frame('dock', i)]));
      const again = { frameId: 'gate:0', camera: 'gate', capturedAt: T0, width: 1, height: 1, tracks: [] };
      await store.scene.appendFrames([again, frame('gate', 3), frame('dock', 3), again, frame('gate', 4), frame('dock', 4)]);
      await store.scene.appendFrames([]);
      const gate = await store.scene.frames({ from: T0 + 500, to: T0 + 2000, cameras: ['gate'] });
      expect(gate.map((f) => f.frameId)).toEqual(['gate:1', 'gate:2', 'gate:3']);
      expect(gate[0]?.tracks[0]).toEqual(sceneTrack('gate:t1', T0 + 500));
      expect((await store.scene.frames({ from: T0, to: T0 + 1 })).map((f) => f.frameId).sort()).toEqual(['dock:0', 'gate:0']);
      expect((await store.scene.frames({ from: T0, to: T0 + 1 }))[0]?.width).toBe(640);
      expect(await store.scene.frames({ from: T0, to: T0 + 9999, cameras: [] })).toEqual([]);
      expect(await store.scene.pruneFrames(T0 + 1000)).toBe(4);
      expect((await store.scene.frames({ from: 0, to: T0 + 9999 })).length).toBe(6);

      const t = sceneTrack('gate:t1', T0);
      await store.scene.upsertTracks([{ track: t, ended: false }]);
      await store.scene.upsertTracks([{ track: { ...t, lastSeen: T0 + 900 }, ended: true }]);
      expect(await store.scene.tracks('gate')).toEqual([{ ...t, lastSeen: T0 + 900, ended: true }]);
      // One batch that starts and ends a track keeps its last state; an empty batch is nothing.
      await store.scene.upsertTracks([{ track: { ...t, id: 'gate:t3' }, ended: false }, { track: { ...t, id: 'gate:t3', lastSeen: T0 + 950 }, ended: true }]);
      await store.scene.upsertTracks([]);
      expect((await store.scene.tracks('gate')).find((x) => x.id === 'gate:t3')).toEqual({ ...t, id: 'gate:t3', lastSeen: T0 + 950, ended: true });
      // Ended tracks go with the frames of their time; a live one stays.
      await store.scene.upsertTracks([{ track: { ...t, id: 'gate:t2' }, ended: false }]);
      await store.scene.pruneFrames(T0 + 1000);
      expect((await store.scene.tracks('gate')).map((x) => x.id)).toEqual(['gate:t2']);
    }));

  it('keeps frame embeddings as exact float32 vectors, by model and time range, and prunes them with the frames', () =>
    withStore(target, async (store) => {
      const v = new Float32Array([0.5, -0.25, 1e-7, 3.4e38, -0]);
      await store.scene.appendEmbedding({ frameId: 'gate:1', camera: 'gate', capturedAt: T0, model: 'clip@x', vector: v });
      await store.scene.appendEmbedding({ frameId: 'gate:1', camera: 'gate', capturedAt: T0, model: 'clip@x', vector: new Float32Array(5) });
      await store.scene.appendEmbedding({ frameId: 'gate:2', camera: 'gate', capturedAt: T0 + 500, model: 'other', vector: new Float32Array(2) });
      await store.scene.appendEmbedding({ frameId: 'dock:1', camera: 'dock', capturedAt: T0 + 600, model: 'clip@x', vector: new Float32Array(5).fill(1) });
      const got = await store.scene.embeddings({ from: T0, to: T0 + 1000, model: 'clip@x' });
      expect(got.map((e) => e.frameId)).toEqual(['gate:1', 'dock:1']);
      expect(got[0]?.vector).toEqual(v);
      expect((await store.scene.embeddings({ from: T0, to: T0 + 1000, model: 'clip@x', cameras: ['dock'] })).map((e) => e.frameId)).toEqual(['dock:1']);
      await store.scene.pruneFrames(T0 + 550);
      expect((await store.scene.embeddings({ from: 0, to: T0 + 1000, model: 'clip@x' })).map((e) => e.frameId)).toEqual(['dock:1']);
    }));

  it('queues a webhook delivery once, lets one claimer at a time take it, retries, delivers and dead-letters', () =>
    withStore(target, async (store) => {
      await store.webhooks.insert({ id: 'w1', url: 'http://127.0.0.1:9/hook', secret: 's'.repeat(32), cameras: null, queries: ['q1'], createdAt: T0 });
      expect((await store.webhooks.list()).map((w) => w.queries)).toEqual([['q1']]);
      expect(await store.webhooks.enqueue({ id: 'd1', webhookId: 'w1', alertId: 'a1', payload: payload('a1'), at: T0 })).toBe(true);
      expect(await store.webhooks.enqueue({ id: 'd1b', webhookId: 'w1', alertId: 'a1', payload: payload('a1'), at: T0 })).toBe(false);
      expect(await store.webhooks.enqueue({ id: 'dx', webhookId: 'gone', alertId: 'a1', payload: payload('a1'), at: T0 })).toBe(false);
      await store.webhooks.enqueue({ id: 'd2', webhookId: 'w1', alertId: 'a2', payload: payload('a2'), at: T0 + 1 });

      const claimed = await store.webhooks.claimDue(T0 + 5, 30_000, 10);
      expect(claimed.map((d) => [d.id, d.attempts])).toEqual([['d1', 1], ['d2', 1]]);
      expect(claimed[0]?.payload).toEqual(payload('a1'));
      // Leased: a second dispatcher gets nothing until the lease runs out.
      expect(await store.webhooks.claimDue(T0 + 6, 30_000, 10)).toEqual([]);
      // Released untried (a dispatcher shutting down): due at once, the attempt not counted.
      await store.webhooks.release(['d1', 'd2'], T0 + 6);
      await store.webhooks.release([], T0 + 6);
      expect((await store.webhooks.claimDue(T0 + 6, 30_000, 10)).map((d) => [d.id, d.attempts])).toEqual([['d1', 1], ['d2', 1]]);
      await store.webhooks.retryLater('d1', T0 + 1000, 'HTTP 503', 503);
      await store.webhooks.markDelivered('d2', T0 + 7, 200);
      expect(await store.webhooks.claimDue(T0 + 999, 30_000, 10)).toEqual([]);
      const again = await store.webhooks.claimDue(T0 + 1000, 30_000, 10);
      expect(again.map((d) => [d.id, d.attempts, d.lastError, d.lastStatus])).toEqual([['d1', 2, 'HTTP 503', 503]]);
      await store.webhooks.moveToDeadLetters('d1', T0 + 2000, 'connection refused', null);
      expect((await store.webhooks.deliveries()).map((d) => [d.id, d.status, d.deliveredAt])).toEqual([['d2', 'delivered', T0 + 7]]);
      expect(await store.webhooks.pruneDelivered(T0 + 7)).toBe(0);
      expect(await store.webhooks.pruneDelivered(T0 + 8)).toBe(1);
      const dead = await store.webhooks.deadLetters('w1');
      expect(dead).toEqual([{ id: 'd1', webhookId: 'w1', alertId: 'a1', payload: payload('a1'), attempts: 2, lastError: 'connection refused', lastStatus: null, createdAt: T0, deadAt: T0 + 2000 }]);
      expect(await store.webhooks.delete('w1')).toBe(true);
      expect((await store.webhooks.deadLetters()).length).toBe(1);
    }));
});
