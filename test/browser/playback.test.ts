import { beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { Alert, RecordingIndexResponse, SearchHit, SearchResponse, StandingQuery } from '@chronotrace/contracts';
import { useWallUnderTest } from '../support/chromium';
import { waitFor, type TestRuntime } from '../support/runtime';

// Debian's vtest.avi: pedestrians, recorded and searchable.
const CAMERAS = [{ id: 'street', name: 'Street', location: 'Crossing', source: '/usr/share/doc/opencv-doc/examples/data/vtest.avi', fps: 5, width: 480 }];

const wall = useWallUnderTest(CAMERAS, { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' });
let t: TestRuntime;
let browser: Browser;
beforeAll(() => {
  t = wall.runtime;
  browser = wall.browser;
});

async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(`${t.url}${path}`, init);
  return (await res.json()) as T;
}

describe('search and playback in the browser', () => {
  // A standing query so the timelines have alerts to show.
  let q: StandingQuery;
  beforeAll(async () => {
    q = await api<StandingQuery>('/api/queries', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'person', severity: 'warning' }) });
  });
  it('searches, opens a result and plays the recording from its moment, with its alerts on the timeline', async () => {
    const alert = await waitFor('an alert', async () => (await api<Alert[]>(`/api/alerts?query=${q.id}`))[0], 90_000, 1_000);
    // A hit with 10 s of recording after its moment, by the recording's own index (capture times).
    const playable = async (limit: number): Promise<SearchHit | undefined> => {
      const rec = await api<RecordingIndexResponse>('/api/cameras/street/recording');
      const recordedTo = rec.segments[rec.segments.length - 1]?.endAt ?? 0;
      return (await api<SearchResponse>(`/api/search?q=person&limit=${limit}`)).hits.find((h) => h.recorded && h.playAt + 10_000 <= recordedTo);
    };
    await waitFor('a person hit with 10 s recorded after it', () => playable(24), 120_000, 1_000);

    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.url}/search?q=person`);
    await page.waitForSelector('[data-testid="results"] a[data-track]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="explanation"]')).toMatch(/person/);
    // The URL holds the search.
    expect(new URL(page.url()).searchParams.get('q')).toBe('person');

    // Open the first result that is recorded (its link carries the moment to play).
    const href = await page.$$eval('[data-testid="results"] a[data-track]', (as) => as.map((a) => a.getAttribute('href')!));
    const target = (await playable(24))!;
    const link = href.find((h) => h.includes(`track=${encodeURIComponent(target.trackId)}`));
    expect(link).toBeDefined();
    await page.click(`[data-testid="results"] a[href="${link}"]`);
    await page.waitForURL(/\/play\?/);

    // The video plays: its time advances, and the wall time it shows starts at the hit's moment.
    const firstShown = await waitFor('the recording to play', async () => {
      const v = await page.evaluate(() => {
        const el = document.querySelector('video')!;
        return { t: el.currentTime, paused: el.paused, ready: el.readyState };
      });
      return v.ready >= 2 && v.t > 0 ? v : undefined;
    }, 30_000, 200);
    await waitFor('time to advance', async () => (await page.evaluate(() => document.querySelector('video')!.currentTime)) > firstShown.t + 0.5, 20_000, 200);
    // It plays from the hit's moment: the wall time shown is a few seconds after playAt, not elsewhere in the recording.
    const shownAt = Number(await page.getAttribute('[data-testid="shown-time"]', 'data-at'));
    expect(shownAt).toBeGreaterThanOrEqual(target.playAt - 1_000);
    expect(shownAt).toBeLessThan(target.playAt + 20_000);
    // The timeline (15 min around the moment) shows the query's alerts.
    await waitFor('an alert on the timeline', async () => ((await page.$$('[data-testid="timeline-alert"]')).length > 0 ? true : undefined), 20_000, 250);
    expect((await page.$$('[data-testid="timeline-alert"]')).length).toBeGreaterThan(0);
    expect(alert.camera).toBe('street');
    // Keyboard: space pauses.
    await page.keyboard.press(' ');
    await waitFor('paused', async () => ((await page.evaluate(() => document.querySelector('video')!.paused)) ? true : undefined), 5_000, 100);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('scrubs back from live in the wall’s focus view: the timeline shows the recording and the alerts, a click plays it, back to live returns', async () => {
    // Enough recorded to scrub into: 20 s by the recording's own index.
    const rec = await waitFor('20 s recorded', async () => {
      const r = await api<RecordingIndexResponse>('/api/cameras/street/recording');
      const first = r.segments[0];
      const last = r.segments[r.segments.length - 1];
      return first && last && last.endAt - first.startAt >= 20_000 ? r : undefined;
    }, 120_000, 1_000);
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.url);
    await page.click('[data-testid="camera-tile"][data-camera="street"] button.frame');
    await page.waitForSelector('[data-testid="focus-view"][data-camera="street"]');
    expect(await page.textContent('[data-testid="focus-mode"]')).toMatch(/Live/);
    // The timeline of the last 15 minutes ends at now and shows what was recorded and the alerts of the first test.
    await page.waitForSelector('[data-testid="focus-view"] [data-testid="timeline-recorded"]', { timeout: 20_000 });
    await waitFor('an alert', async () => (await api<Alert[]>(`/api/alerts?query=${q.id}`))[0], 90_000, 1_000);
    await waitFor('an alert on the focus timeline', async () => ((await page.$$('[data-testid="focus-view"] [data-testid="timeline-alert"]')).length > 0 ? true : undefined), 20_000, 250);

    // Click the bar 10 s into the recording: the focus view plays the recording from there.
    const target = rec.segments[0]!.startAt + 10_000;
    const bar = (await page.$('[data-testid="focus-view"] [data-testid="timeline"]'))!;
    const box = (await bar.boundingBox())!;
    const from = Number(await bar.getAttribute('data-from'));
    const to = Number(await bar.getAttribute('data-to'));
    expect(target).toBeGreaterThan(from);
    await page.mouse.click(box.x + ((target - from) / (to - from)) * box.width, box.y + box.height / 2);
    await page.waitForSelector('[data-testid="focus-playback"]');
    const playing = await waitFor('the recording to play in the focus view', async () => {
      const v = await page.evaluate(() => {
        const el = document.querySelector<HTMLVideoElement>('[data-testid="focus-playback"]')!;
        return { t: el.currentTime, ready: el.readyState };
      });
      return v.ready >= 2 && v.t > 0 ? v : undefined;
    }, 30_000, 200);
    await waitFor('time to advance', async () => (await page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="focus-playback"]')!.currentTime)) > playing.t + 0.5, 20_000, 200);
    // It shows the moment clicked (within a pixel's worth of time and a couple of seconds of play).
    const pixelMs = (to - from) / box.width;
    const shownAt = Number(await page.getAttribute('[data-testid="focus-mode"]', 'data-at'));
    expect(shownAt).toBeGreaterThanOrEqual(target - 2 * pixelMs - 1_000);
    expect(shownAt).toBeLessThan(target + 2 * pixelMs + 20_000);
    expect(await page.textContent('[data-testid="focus-mode"]')).toMatch(/Recorded/);
    // Space pauses the recording (keys act on the focus view).
    await page.keyboard.press(' ');
    await waitFor('paused', async () => ((await page.evaluate(() => document.querySelector<HTMLVideoElement>('[data-testid="focus-playback"]')!.paused)) ? true : undefined), 5_000, 100);

    // Back to live: the recorded player goes, the live view returns.
    await page.click('[data-testid="back-to-live"]');
    await page.waitForSelector('[data-testid="focus-playback"]', { state: 'detached' });
    expect(await page.textContent('[data-testid="focus-mode"]')).toMatch(/Live/);
    await page.waitForSelector('[data-testid="focus-view"] [data-testid="focus-frame"], [data-testid="focus-view"] [data-testid="focus-video"]');
    expect(errors).toEqual([]);
    await page.close();
  });
});
