import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ct-startup-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'web/server/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'error', DATA_DIR: join(dir, 'data'), PORT: '0', ...env },
    });
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('exit', (code) => {
      clearTimeout(kill);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('start-up validation', () => {
  it('refuses a broken streams config, naming every bad field, and exits 1', async () => {
    const file = join(dir, 'bad.config.ts');
    await writeFile(
      file,
      `export default { cameras: [
        { id: 'good', name: 'Good', source: 'testsrc:testsrc' },
        { id: 'BAD ID', name: '', source: 'http://x', fps: -1 },
        { id: 'z', name: 'Z', source: 'testsrc:testsrc', zones: [{ name: 'a', polygon: [[0, 0]] }] },
      ] };\n`,
    );
    const r = await runMain({ CHRONOTRACE_CONFIG: file });
    expect(r.code).toBe(1);
    for (const field of ['cameras.1.id', 'cameras.1.name', 'cameras.1.source', 'cameras.1.fps', 'cameras.2.zones.0.polygon']) {
      expect(r.stderr).toContain(field);
    }
    expect(r.stderr).toContain(file);
  });

  it('refuses a config file that does not exist or does not load', async () => {
    const missing = await runMain({ CHRONOTRACE_CONFIG: join(dir, 'missing.ts') });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/);
    const syntax = join(dir, 'syntax.config.ts');
    await writeFile(syntax, 'export default { cameras: [ ;\n');
    const broken = await runMain({ CHRONOTRACE_CONFIG: syntax });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/cannot be loaded/);
  });

  it('refuses bad environment variables, naming each', async () => {
    const r = await runMain({ PORT: 'eighty', MODE: 'cluster', NATS_URL: '', CHRONOTRACE_CONFIG: 'streams.config.ts' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT:/);
    expect(r.stderr).toMatch(/MODE:/);
    expect(r.stderr).toMatch(/NATS_URL:/);
  });
});
