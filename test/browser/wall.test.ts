import { beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { useWallUnderTest } from '../support/chromium';
import type { TestRuntime } from '../support/runtime';

// The demo cameras need no network: a looped video from Debian's opencv-doc, a still image and ffmpeg's test pattern.
const OPENCV = '/usr/share/doc/opencv-doc/examples/data';
const CAMERAS = [
  { id: 'street', name: 'Street', location: 'Crossing', source: `${OPENCV}/vtest.avi`, fps: 2, width: 480 },
  { id: 'pitch', name: 'Pitch', location: 'Stadium', source: `${OPENCV}/messi5.jpg`, fps: 2, width: 480 },
  { id: 'lobby', name: 'Lobby', location: 'Synthetic', source: 'testsrc:testsrc2', fps: 2, width: 480 },
];

const wall = useWallUnderTest(CAMERAS);
let t: TestRuntime;
let browser: Browser;
beforeAll(() => {
  t = wall.runtime;
  browser = wall.browser;
});

async function framesOf(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-testid="camera-tile"]', (tiles) =>
    Object.fromEntries(tiles.map((el) => [(el as HTMLElement).dataset.camera ?? '', Number((el as HTMLElement).dataset.frames ?? 0)])),
  );
}

describe('live wall in Chromium', () => {
  it('shows a tile per camera and every tile keeps updating with redacted frames', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.url);
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]', { timeout: 20_000 });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="camera-tile"]').length === n, CAMERAS.length, { timeout: 20_000 });
    // Every tile gets frames…
    await page.waitForFunction(
      () => [...document.querySelectorAll<HTMLElement>('[data-testid="camera-tile"]')].every((el) => Number(el.dataset.frames) >= 2),
      undefined,
      { timeout: 40_000 },
    );
    const first = await framesOf(page);
    // …and keeps getting them (no fixed time: two cores share ingest, three models and the browser).
    await page.waitForFunction(
      (before) =>
        [...document.querySelectorAll<HTMLElement>('[data-testid="camera-tile"]')].every(
          (el) => Number(el.dataset.frames) > (before[el.dataset.camera ?? ''] ?? Infinity),
        ),
      first,
      { timeout: 30_000 },
    );
    const later = await framesOf(page);
    for (const c of CAMERAS) expect(later[c.id], c.id).toBeGreaterThan(first[c.id]!);
    const states = await page.$$eval('[data-testid="camera-tile"]', (els) => els.map((el) => (el as HTMLElement).dataset.state));
    expect(states.every((s) => s === 'live')).toBe(true);
    // The image shown is a JPEG blob (the redacted frame), and the privacy indicator reports what was hidden.
    const src = await page.getAttribute('[data-camera="pitch"] [data-testid="camera-frame"]', 'src');
    expect(src).toMatch(/^blob:/);
    await page.waitForFunction(() => /[1-9]\d* face/.test(document.querySelector('[data-camera="pitch"] [data-testid="camera-privacy"]')?.textContent ?? ''), undefined, { timeout: 20_000 });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('works on a phone-sized screen in one column, and the theme toggle switches to light', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await page.goto(t.url);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="camera-tile"]').length === 3, undefined, { timeout: 20_000 });
    const xs = await page.$$eval('[data-testid="camera-tile"]', (els) => els.map((el) => Math.round(el.getBoundingClientRect().left)));
    expect(new Set(xs).size).toBe(1);
    const width = await page.$eval('[data-testid="camera-tile"]', (el) => el.getBoundingClientRect().width);
    expect(width).toBeLessThanOrEqual(390);
    expect(await page.getAttribute('html', 'data-theme')).toBe('dark');
    await page.click('[data-testid="theme-toggle"]');
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.reload();
    expect(await page.getAttribute('html', 'data-theme')).toBe('light');
    await page.close();
  });

  it('adds a camera from the form, shows API errors inline, and removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(t.url);
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]', { timeout: 20_000 });
    await page.click('[data-testid="add-camera-toggle"]');
    await page.waitForSelector('[data-testid="add-camera-form"]');
    await page.fill('[data-testid="add-camera-form"] [name="id"]', 'bad id');
    await page.fill('[data-testid="add-camera-form"] [name="name"]', 'Bad');
    await page.fill('[data-testid="add-camera-form"] [name="source"]', 'ftp://nowhere');
    await page.click('[data-testid="add-camera-form"] [type="submit"]');
    const err = await page.waitForSelector('[data-testid="add-camera-error"]', { timeout: 10_000 });
    const text = (await err.textContent()) ?? '';
    expect(text).toMatch(/id:/);
    expect(text).toMatch(/source:/);

    await page.fill('[data-testid="add-camera-form"] [name="id"]', 'bars');
    await page.fill('[data-testid="add-camera-form"] [name="name"]', 'Bars');
    await page.fill('[data-testid="add-camera-form"] [name="source"]', 'testsrc:smptebars');
    await page.click('[data-testid="add-camera-form"] [type="submit"]');
    await page.waitForFunction(() => Number(document.querySelector<HTMLElement>('[data-testid="camera-tile"][data-camera="bars"]')?.dataset.frames ?? 0) >= 2, undefined, { timeout: 30_000 });

    await page.click('[data-camera="bars"] [data-testid="remove-camera"]');
    await page.click('[data-camera="bars"] [data-testid="confirm-remove"]');
    await page.waitForSelector('[data-testid="camera-tile"][data-camera="bars"]', { state: 'detached', timeout: 10_000 });
    const res = await fetch(`${t.url}/api/cameras/bars`);
    expect(res.status).toBe(404);
    await page.close();
  });
});
