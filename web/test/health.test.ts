/**
 * Embedded /api/health judges each component by what it did lately: a real runtime whose privacy stage
 * is stopped mid-run (frames keep coming in, none is redacted) must answer 503 with privacy down.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SystemHealth } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from '../../test/support/runtime';

let t: TestRuntime;
beforeAll(async () => {
  t = await startTestRuntime([{ id: 'pattern', name: 'Pattern', location: 'Lab', source: 'testsrc:testsrc2', fps: 4, width: 160 }]);
}, 60_000);
afterAll(() => t?.close());

const health = async (): Promise<{ status: number; body: SystemHealth }> => {
  const res = await fetch(`${t.url}/api/health`);
  return { status: res.status, body: (await res.json()) as SystemHealth };
};

describe('/api/health in embedded mode', () => {
  it('reports ingest, privacy, analytics and the wall from their recent work, and 503 once privacy stops redacting', async () => {
    const ok = await waitFor('a judged, healthy privacy stage', async () => {
      const h = await health();
      return h.body.components.privacy?.detail?.endsWith('redacted') && h.status === 200 ? h : undefined;
    }, 60_000, 500);
    expect(ok.body.components.ingest?.state).toBe('ok');
    expect(ok.body.components.analytics?.state).toBe('ok');
    expect(ok.body.components.privacy?.detail).toMatch(/\/s redacted$/);
    // Camera health carries what reached the wall, beside what came in.
    const cam = ok.body.cameras.find((c) => c.camera === 'pattern');
    expect(cam?.fps).toBeGreaterThan(0);
    expect(cam?.deliveredFps).toBeGreaterThan(0);
    // The same figures for Prometheus.
    const metrics = await fetch(`${t.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await metrics.text();
    const value = (series: string): number => Number(new RegExp(`^${series.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
    expect(value('chronotrace_frames_ingested_total{camera="pattern"}')).toBeGreaterThan(0);
    expect(value('chronotrace_privacy_frames_total{camera="pattern",outcome="redacted"}')).toBeGreaterThan(0);
    expect(value('chronotrace_frames_delivered_total{camera="pattern"}')).toBeGreaterThan(0);
    expect(value('chronotrace_capture_to_wall_seconds_count{camera="pattern"}')).toBeGreaterThan(0);
    expect(value('chronotrace_camera_up{camera="pattern"}')).toBe(1);
    expect(text).toMatch(/^chronotrace_process_cpu_seconds_total /m);
    // Break it: the privacy stage stops; ingest keeps publishing raw frames.
    await t.runtime.privacy?.close();
    const down = await waitFor('privacy judged down', async () => {
      const h = await health();
      return h.body.components.privacy?.state === 'down' ? h : undefined;
    }, 60_000, 500);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('down');
    expect(down.body.components.privacy?.detail).toMatch(/none redacted/);
    expect(down.body.components.ingest?.state).toBe('ok');
  }, 120_000);
});
