import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { CameraConfigInput } from '@chronotrace/contracts';
import { WEB_BUILD_HANDLER } from '../../web/server/web-server';
import { startTestRuntime, type TestRuntime } from './runtime';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * A browser-test file's fixture: an embedded ChronoTrace with these cameras (the wall must be built)
 * and a headless Chromium, started before the file's tests and closed after them.
 */
export function useWallUnderTest(cameras: CameraConfigInput[], env: Record<string, string> = {}): { readonly runtime: TestRuntime; readonly browser: Browser } {
  let runtime: TestRuntime | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    if (!existsSync(WEB_BUILD_HANDLER)) throw new Error('the wall is not built: run `npm run build` first (npm test does)');
    runtime = await startTestRuntime(cameras, env);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.close();
  });
  return {
    get runtime(): TestRuntime {
      if (!runtime) throw new Error('the test runtime did not start');
      return runtime;
    },
    get browser(): Browser {
      if (!browser) throw new Error('Chromium did not start');
      return browser;
    },
  };
}
