import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (test/distributed/ → ../..): children run from there, like scripts/start-distributed.sh. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One ChronoTrace stage running as its own `node --import tsx <entry>` process. */
export interface StageProcess {
  readonly name: string;
  readonly entry: string;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exit: Promise<ExitInfo>;
  /** Set once the process has exited. */
  exitInfo: ExitInfo | null;
  /** Killed on purpose by the test (an exit is then expected). */
  expectedExit: boolean;
  /** The last lines of stdout+stderr, for diagnostics. */
  tail(lines?: number): string;
  /** Every captured line so far (bounded). */
  lines(): readonly string[];
}

const MAX_LINES = 2_000;

/** Environment of a child: the test's own minus vitest's and Node's loader options, plus the given values. */
export function childEnv(values: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('VITEST') || k === 'NODE_OPTIONS' || k === 'TEST' || k === 'NODE_ENV') continue;
    base[k] = v;
  }
  return { ...base, ...values };
}

/** Spawns `node --import tsx <entry>` (entry relative to the repo root) and captures its output. */
export function spawnStage(name: string, entry: string, env: NodeJS.ProcessEnv): StageProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not spawn ${name} (${entry})`);
  const buf: string[] = [];
  const capture = (stream: NodeJS.ReadableStream, tag: string): void => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      for (const line of parts) {
        buf.push(`${tag} ${line}`);
        if (buf.length > MAX_LINES) buf.shift();
      }
    });
    stream.on('end', () => {
      if (rest) buf.push(`${tag} ${rest}`);
    });
  };
  capture(child.stdout!, 'out|');
  capture(child.stderr!, 'err|');
  const proc: StageProcess = {
    name,
    entry,
    child,
    pid: child.pid,
    exitInfo: null,
    expectedExit: false,
    exit: new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        proc.exitInfo = { code, signal };
        resolve(proc.exitInfo);
      });
    }),
    tail: (lines = 60) => buf.slice(-lines).join('\n'),
    lines: () => buf,
  };
  return proc;
}

/** Sends `signal` and waits for the exit, up to `timeoutMs`; null when it did not exit in time. */
export async function stopStage(p: StageProcess, signal: NodeJS.Signals, timeoutMs: number): Promise<ExitInfo | null> {
  if (p.exitInfo) return p.exitInfo;
  p.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), timeoutMs);
  });
  try {
    return await Promise.race([p.exit, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => (port ? resolve(port) : reject(new Error('no port'))));
    });
  });
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Throws when a process the test still needs has exited (so waits fail at once, with its output). */
export function assertAlive(procs: readonly StageProcess[]): void {
  for (const p of procs) {
    if (p.exitInfo && !p.expectedExit) {
      throw new Error(`${p.name} (pid ${p.pid}) exited unexpectedly (code ${p.exitInfo.code}, signal ${p.exitInfo.signal}):\n${p.tail(40)}`);
    }
  }
}

/**
 * Polls `check` until it returns a value (not undefined/false) or `timeoutMs` runs out. Before each
 * try it calls `guard` (e.g. assertAlive); an error from the guard fails the wait at once.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  opts: { timeoutMs: number; everyMs?: number; guard?: () => void },
): Promise<T> {
  const until = Date.now() + opts.timeoutMs;
  let last: unknown;
  for (;;) {
    opts.guard?.();
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 250));
  }
}
