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

  it('drives like a control room: layouts, groups, pages and every shortcut', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(t.url);
    await page.waitForSelector('[data-testid="connection-status"][data-status="connected"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="camera-tile"]').length === 3, undefined, { timeout: 20_000 });
    const tiles = async (): Promise<string[]> => page.$$eval('[data-testid="camera-tile"]', (els) => els.map((el) => (el as HTMLElement).dataset.camera ?? ''));
    const columnsOf = async (): Promise<number> => page.$eval('[data-testid="camera-wall"]', (el) => getComputedStyle(el).gridTemplateColumns.split(' ').length);
    // By default the smallest layout that shows them all (2×2 for three); 4×4 on request; 1 per page pages through them.
    const order = await tiles();
    expect(order.slice().sort()).toEqual(['lobby', 'pitch', 'street']);
    expect(await columnsOf()).toBe(2);
    await page.click('[data-layout="16"]');
    expect(await columnsOf()).toBe(4);
    await page.click('[data-layout="1"]');
    expect(await tiles()).toEqual([order[0]]);
    expect(await page.textContent('[data-testid="wall-page"]')).toBe('1 / 3');
    await page.keyboard.press('PageDown');
    expect(await tiles()).toEqual([order[1]]);
    await page.keyboard.press('PageUp');
    expect(await tiles()).toEqual([order[0]]);
    // l: the next layout (1 → 4 per page).
    await page.keyboard.press('l');
    expect(await page.getAttribute('[data-testid="camera-wall"]', 'data-layout')).toBe('4');
    // Groups by location: g steps through them; the select too.
    await page.keyboard.press('g');
    expect(await tiles()).toEqual(['street']); // "Crossing", the first location
    await page.selectOption('[data-testid="wall-group"]', 'Synthetic');
    expect(await tiles()).toEqual(['lobby']);
    await page.selectOption('[data-testid="wall-group"]', '');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    // Arrows move the selection; 2 opens the second camera; Esc closes it; Enter opens the selected one.
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('[data-selected="true"]', 'data-position')).toBe('2');
    await page.keyboard.press('ArrowRight');
    expect(await page.getAttribute('[data-selected="true"]', 'data-position')).toBe('3');
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('2');
    await page.waitForSelector(`[data-testid="focus-view"][data-camera="${order[1]}"]`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="focus-view"]', { state: 'detached' });
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Enter');
    await page.waitForSelector(`[data-testid="focus-view"][data-camera="${order[2]}"]`);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="focus-view"]', { state: 'detached' });
    // ?: the list of every shortcut; again (or Esc) closes it.
    await page.keyboard.press('?');
    const list = (await page.textContent('[data-testid="shortcuts"]')) ?? '';
    for (const key of ['1 – 9', 'Page Up / Page Down', 'acknowledge the newest', 'go to the query box', 'next layout', 'next camera group']) expect(list).toContain(key);
    await page.keyboard.press('Escape');
    await page.waitForSelector('[data-testid="shortcuts"]', { state: 'detached' });
    // /: the query box has the keys (typing there is not a shortcut).
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('query-input');
    await page.keyboard.type('2');
    expect(await page.$('[data-testid="focus-view"]')).toBeNull();
    await page.fill('[data-testid="query-input"]', '');
    // a: acknowledges the newest unacknowledged alert (a query on the street camera makes one).
    const q = await (await fetch(`${t.url}/api/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'person on camera street', severity: 'warning' }) })).json() as { id: string };
    await page.waitForSelector('[data-testid="alert-item"]', { timeout: 60_000 });
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    const before = (await (await fetch(`${t.url}/api/alerts?query=${q.id}`)).json()) as { id: string; ack: unknown }[];
    await page.keyboard.press('a');
    const acked = await page.waitForFunction(async (url) => {
      const list = (await (await fetch(url)).json()) as { ack: unknown }[];
      return list.some((x) => x.ack !== null);
    }, `${t.url}/api/alerts?query=${q.id}`, { timeout: 10_000 });
    expect(await acked.jsonValue()).toBe(true);
    expect(before.length).toBeGreaterThan(0);
    await fetch(`${t.url}/api/queries/${q.id}`, { method: 'DELETE' });
    expect(errors).toEqual([]);
    await page.close();
  });
});
