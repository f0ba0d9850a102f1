import { afterEach, describe, expect, it } from 'vitest';
import { isAlive as alive } from '../../test/distributed/processes';
import { ProcessSupervisor, createLogger, type SupervisedProcessState } from '../src/index';

/** A child that runs until SIGTERM, then exits 0 (as a stage drains); `SLOW=1` ignores SIGTERM. */
const CHILD = `
process.on('SIGTERM', () => { if (!process.env.SLOW) process.exit(0); });
setInterval(() => {}, 1000);
`;

const log = createLogger('test');
log.level = 'silent';
let supervisor: ProcessSupervisor | undefined;
afterEach(async () => {
  await supervisor?.stop();
  supervisor = undefined;
});


async function until<T>(what: string, f: () => T | undefined): Promise<T> {
  const end = Date.now() + 20_000;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const state = (s: ProcessSupervisor, name: string): SupervisedProcessState => s.states().find((x) => x.name === name)!;

describe('ProcessSupervisor', () => {
  it('starts a killed process again with a growing delay while the others keep running; stop() drains them all', async () => {
    const s = new ProcessSupervisor({ log: log, backoff: { initialMs: 10, factor: 4, maxMs: 1_000 }, stdio: 'ignore' });
    supervisor = s;
    for (const name of ['a', 'b']) s.add({ name, command: process.execPath, args: ['-e', CHILD], env: process.env });
    const a1 = await until('a to run', () => state(s, 'a').pid ?? undefined);
    const b1 = await until('b to run', () => state(s, 'b').pid ?? undefined);

    process.kill(a1, 'SIGKILL');
    const a2 = await until('a to run again', () => (state(s, 'a').pid !== a1 ? (state(s, 'a').pid ?? undefined) : undefined));
    expect(state(s, 'a').restarts).toBe(1);
    process.kill(a2, 'SIGKILL');
    const a3 = await until('a to run a third time', () => (![a1, a2].includes(state(s, 'a').pid ?? a1) ? (state(s, 'a').pid ?? undefined) : undefined));
    expect(state(s, 'a')).toMatchObject({ state: 'running', restarts: 2 });
    // b was never touched.
    expect(state(s, 'b')).toEqual({ name: 'b', pid: b1, state: 'running', restarts: 0 });

    await s.stop();
    expect(s.states().map((x) => x.state)).toEqual(['stopped', 'stopped']);
    expect([a3, b1].filter(alive)).toEqual([]);
  });

  it('a process that exits by itself is restarted too; one that ignores SIGTERM is killed after the stop timeout', async () => {
    const s = new ProcessSupervisor({ log: log, backoff: { initialMs: 10, maxMs: 10 }, stopTimeoutMs: 300, stdio: 'ignore' });
    supervisor = s;
    s.add({ name: 'quits', command: process.execPath, args: ['-e', 'process.exit(3)'], env: process.env });
    s.add({ name: 'stubborn', command: process.execPath, args: ['-e', CHILD], env: { ...process.env, SLOW: '1' } });
    await until('quits to have been restarted twice', () => (state(s, 'quits').restarts >= 2 ? true : undefined));
    const pid = await until('stubborn to run', () => state(s, 'stubborn').pid ?? undefined);
    await s.stop();
    expect(alive(pid)).toBe(false);
    expect(() => s.add({ name: 'late', command: process.execPath, args: ['-e', ''], env: process.env })).toThrow(/stopping/);
  });

  it('a command that cannot be spawned is retried, not thrown', async () => {
    const s = new ProcessSupervisor({ log: log, backoff: { initialMs: 10, maxMs: 10 }, stdio: 'ignore' });
    supervisor = s;
    s.add({ name: 'missing', command: '/nonexistent/binary', args: [], env: process.env });
    await until('two failed spawns', () => (state(s, 'missing').restarts >= 2 ? true : undefined));
    expect(state(s, 'missing').pid).toBeNull();
  });
});
