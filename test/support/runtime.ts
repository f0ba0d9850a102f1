import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CameraConfigInput, CameraView } from '@chronotrace/contracts';
import { parseEnv, validateStreamsConfig } from '@chronotrace/platform';
import { Runtime } from '../../web/server/runtime';

export interface TestRuntime {
  runtime: Runtime;
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

/** An embedded ChronoTrace on a free port with its own data folder (removed on close), or `dataDir` when given (kept). */
export async function startTestRuntime(cameras: CameraConfigInput[], env: Record<string, string> = {}, dataDirOf?: string): Promise<TestRuntime> {
  const dataDir = dataDirOf ?? (await mkdtemp(join(tmpdir(), 'ct-test-')));
  const runtime = await Runtime.start({
    env: parseEnv({ MODE: 'embedded', PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent', WEBRTC: 'off', RECORDING: 'off', ...env }),
    config: validateStreamsConfig({ cameras }),
  });
  return {
    runtime,
    url: runtime.url,
    dataDir,
    close: async () => {
      await runtime.close();
      if (!dataDirOf) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a value (not undefined/false) or the time runs out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function cameraState(url: string, id: string): Promise<CameraView | undefined> {
  const res = await fetch(`${url}/api/cameras/${id}`);
  return res.ok ? ((await res.json()) as CameraView) : undefined;
}
