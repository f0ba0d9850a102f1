import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { Alert, StandingQuery } from '@chronotrace/contracts';
import { useWallUnderTest } from '../support/chromium';
import { waitFor, type TestRuntime } from '../support/runtime';

// A looped street scene from Debian's opencv-doc with real pedestrians: the person detector finds them.
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const CAMERAS = [{ id: 'street', name: 'Street', location: 'Crossing', source: `${OPENCV}/vtest.avi`, fps: 2, width: 480 }];

/** Two cores run ingest, redaction, detection, tracking and Chromium: the first alert can take a while. */
const ALERT_TIMEOUT_MS = 90_000;

const wall = useWallUnderTest(CAMERAS);
let t: TestRuntime;
let browser: Browser;
beforeAll(() => {
  t = wall.runtime;
  browser = wall.browser;
});
// Each test starts with no standing queries (alerts stay: they are history).
afterEach(async () => {
  if (t) await deleteAllQueries();
});

async function openWall(viewport: { width: number; height: number }, isMobile = false): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport, isMobile });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(t.url);
  await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]', { timeout: 20_000 });
  await page.waitForSelector('[data-testid="camera-tile"][data-camera="street"]', { timeout: 20_000 });
  return { page, errors };
}

async function api<T>(path: string, init?: RequestInit): Promise<{ status: number; body: T }> {
  const res = await fetch(`${t.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

async function createQuery(text: string, armed: boolean): Promise<StandingQuery> {
  const res = await api<StandingQuery>('/api/queries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text, armed }) });
  expect(res.status).toBe(201);
  return res.body;
}

async function deleteAllQueries(): Promise<void> {
  const { body } = await api<StandingQuery[]>('/api/queries');
  for (const q of body) await fetch(`${t.url}/api/queries/${encodeURIComponent(q.id)}`, { method: 'DELETE' });
}

describe('standing queries and alerts in Chromium', () => {
  it('suggests a fix for a misspelled query, arms it, shows the alert it raises with its redacted snapshot, pulses the tile and acknowledges it everywhere', async () => {
    const { page, errors } = await openWall({ width: 1280, height: 800 });
    await page.waitForSelector('[data-testid="alerts-empty"]', { timeout: 10_000 });

    // Explained live as the operator types: the unknown word comes back with what it could mean.
    await page.fill('[data-testid="query-input"]', 'persn on street');
    const err = await page.waitForSelector('[data-testid="query-error"]', { timeout: 15_000 });
    expect(await err.textContent()).toContain('persn');
    expect(await page.isDisabled('[data-testid="query-arm"]')).toBe(true);
    await page.click('[data-testid="query-suggestion"][data-term="persn"][data-suggestion="person"]');
    expect(await page.inputValue('[data-testid="query-input"]')).toBe('person on street');
    const explanation = await page.waitForSelector('[data-testid="query-explanation"]', { timeout: 15_000 });
    expect(await explanation.textContent()).toMatch(/person/i);
    expect(await page.$('[data-testid="query-error"]')).toBeNull();

    await page.click('[data-testid="query-arm"]');
    const item = await page.waitForSelector('[data-testid="query-item"][data-armed="true"]', { timeout: 15_000 });
    const queryId = (await item.getAttribute('data-query-id')) ?? '';
    expect(await item.textContent()).toContain('person on street');
    expect(await page.inputValue('[data-testid="query-input"]')).toBe('');
    const stored = await api<StandingQuery[]>('/api/queries');
    expect(stored.body.map((q) => [q.id, q.text, q.armed])).toEqual([[queryId, 'person on street', true]]);

    // The pedestrians fire it: the alert arrives over Socket.io, its camera's tile pulses.
    const alertEl = await page.waitForSelector(`[data-testid="alert-item"][data-query-id="${queryId}"][data-camera="street"]`, { timeout: ALERT_TIMEOUT_MS });
    const alertId = (await alertEl.getAttribute('data-alert-id')) ?? '';
    expect(alertId).not.toBe('');
    expect(await alertEl.getAttribute('data-acked')).toBe('false');
    await page.waitForSelector('[data-testid="camera-tile"][data-camera="street"][data-alerting="true"]', { timeout: 5_000 });
    expect(Number(await page.getAttribute('[data-testid="alert-count"]', 'data-count'))).toBeGreaterThanOrEqual(1);
    expect(await alertEl.textContent()).toContain('Street');

    // The redacted snapshot loads, with the matched boxes drawn over it.
    await alertEl.scrollIntoViewIfNeeded();
    const selector = `[data-testid="alert-item"][data-alert-id="${alertId}"]`;
    await page.waitForFunction(
      (sel) => {
        const img = document.querySelector<HTMLImageElement>(`${sel} [data-testid="alert-snapshot"]`);
        return img !== null && img.complete && img.naturalWidth > 0;
      },
      selector,
      { timeout: 20_000 },
    );
    expect(await page.getAttribute(`${selector} [data-testid="alert-snapshot"]`, 'src')).toBe(`/api/alerts/${encodeURIComponent(alertId)}/snapshot.jpg`);
    expect(await page.$$eval(`${selector} [data-testid="alert-boxes"] rect`, (rects) => rects.length)).toBeGreaterThanOrEqual(1);
    const jpeg = await fetch(`${t.url}/api/alerts/${encodeURIComponent(alertId)}/snapshot.jpg`);
    expect(jpeg.status).toBe(200);
    expect(jpeg.headers.get('content-type')).toMatch(/^image\/jpeg/);

    // A second operator's wall loads the alert from the API; the first one's acknowledgement reaches it live.
    const other = await openWall({ width: 1280, height: 800 });
    await other.page.waitForSelector(`${selector}[data-acked="false"]`, { timeout: 15_000 });
    await page.click(`${selector} [data-testid="alert-ack"]`);
    await page.waitForSelector(`${selector}[data-acked="true"]`, { timeout: 10_000 });
    await other.page.waitForSelector(`${selector}[data-acked="true"]`, { timeout: 10_000 });
    const alerts = await api<Alert[]>(`/api/alerts?query=${encodeURIComponent(queryId)}`);
    expect(alerts.body.find((a) => a.id === alertId)?.ack).not.toBeNull();

    // Each alert is listed once, however many times it was pushed.
    const ids = await page.$$eval('[data-testid="alert-item"]', (els) => els.map((el) => (el as HTMLElement).dataset.alertId));
    expect(new Set(ids).size).toBe(ids.length);

    expect(errors).toEqual([]);
    expect(other.errors).toEqual([]);
    await other.page.close();
    await page.close();
  });

  it('tries a typed query on the last hour before arming it, then arms the tried query itself', async () => {
    const { page, errors } = await openWall({ width: 1280, height: 800 });
    await page.fill('[data-testid="query-input"]', 'person on street');
    await page.waitForSelector('[data-testid="query-explanation"]', { timeout: 15_000 });

    // The street has been stored since the runtime started; retry until the replayed hour holds a pedestrian.
    const hits = await waitFor(
      'a backtest with hits',
      async () => {
        // The previous run's result goes away when the next one starts.
        const previous = await page.$('[data-testid="backtest-result"]');
        await page.click('[data-testid="query-backtest"]');
        await previous?.waitForElementState('hidden', { timeout: 60_000 });
        const result = await page.waitForSelector('[data-testid="backtest-result"]', { timeout: 60_000 });
        await page.waitForSelector('[data-testid="query-backtest"]:not([disabled])', { timeout: 60_000 });
        const n = Number(await result.getAttribute('data-hits'));
        return n > 0 ? n : undefined;
      },
      120_000,
      2_000,
    );
    expect(hits).toBeGreaterThan(0);
    expect(await page.$$eval('[data-testid="backtest-hit"]', (els) => els.length)).toBeGreaterThan(0);
    expect(await page.textContent('[data-testid="backtest-result"]')).toContain('Street');

    // Trying saved it disarmed, once.
    const tried = await page.waitForSelector('[data-testid="query-item"][data-armed="false"]', { timeout: 10_000 });
    const queryId = (await tried.getAttribute('data-query-id')) ?? '';
    const before = await api<StandingQuery[]>('/api/queries');
    expect(before.body.map((q) => [q.id, q.armed])).toEqual([[queryId, false]]);

    await page.click('[data-testid="query-arm"]');
    await page.waitForSelector(`[data-testid="query-item"][data-query-id="${queryId}"][data-armed="true"]`, { timeout: 10_000 });
    const after = await api<StandingQuery[]>('/api/queries');
    expect(after.body.map((q) => [q.id, q.armed])).toEqual([[queryId, true]]);

    expect(errors).toEqual([]);
    await page.close();
  });

  it('disarms and deletes a query from the list on a phone, where the panel sits below the wall', async () => {
    const query = await createQuery('person on street', true);
    const { page, errors } = await openWall({ width: 390, height: 844 }, true);
    const item = `[data-testid="query-item"][data-query-id="${query.id}"]`;
    await page.waitForSelector(`${item}[data-armed="true"]`, { timeout: 10_000 });

    const wall = await page.$eval('[data-testid="camera-wall"]', (el) => el.getBoundingClientRect().bottom);
    const panel = await page.$eval('[data-testid="query-panel"]', (el) => el.getBoundingClientRect());
    expect(panel.top).toBeGreaterThanOrEqual(wall);
    expect(panel.right).toBeLessThanOrEqual(390);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

    await page.click(`${item} [data-testid="query-toggle"]`);
    await page.waitForSelector(`${item}[data-armed="false"]`, { timeout: 10_000 });
    expect(await page.getAttribute(`${item} [data-testid="query-toggle"]`, 'aria-checked')).toBe('false');
    const stored = await api<StandingQuery[]>('/api/queries');
    expect(stored.body.find((q) => q.id === query.id)?.armed).toBe(false);

    await page.click(`${item} [data-testid="query-delete"]`);
    await page.click(`${item} [data-testid="query-confirm-delete"]`);
    await page.waitForSelector(item, { state: 'detached', timeout: 10_000 });
    expect((await api<StandingQuery[]>('/api/queries')).body).toEqual([]);

    expect(errors).toEqual([]);
    await page.close();
  });
});
