import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { Backoff, type BackoffOptions } from './backoff';
import type { Logger } from './logger';

/** One process of a deployment: what to run and how. */
export interface SupervisedProcessSpec {
  /** Unique name in logs, e.g. 'privacy-2'. */
  name: string;
  command: string;
  args: readonly string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ProcessSupervisorOptions {
  log: Logger;
  /** Restart delays: initial × factor^n, capped. Default 500 ms doubling to 30 s. */
  backoff?: BackoffOptions;
  /** A process that ran this long before dying starts again from the initial delay. Default 30 s. */
  healthyAfterMs?: number;
  /** On stop(), SIGKILL whatever has not exited this long after SIGTERM. Default 20 s. */
  stopTimeoutMs?: number;
  /** Children's stdio. Default: inherited (their JSON logs go where the supervisor's go). */
  stdio?: StdioOptions;
}

/** What a supervised process is doing, for status lines and tests. */
export interface SupervisedProcessState {
  name: string;
  pid: number | null;
  state: 'running' | 'restarting' | 'stopped';
  restarts: number;
}

interface Slot {
  spec: SupervisedProcessSpec;
  child: ChildProcess | null;
  backoff: Backoff;
  startedAt: number;
  restarts: number;
  timer: NodeJS.Timeout | null;
  exited: Promise<void>;
}

/**
 * Keeps the processes of a one-machine deployment running: a process that dies (crash, SIGKILL, OOM) is
 * started again after a capped exponential backoff while the others run on; stop() sends SIGTERM to all,
 * waits for their drain and SIGKILLs stragglers. The processes share nothing but the bus and the store,
 * so one of them restarting is, to the rest, a replica leaving and joining.
 */
export class ProcessSupervisor {
  private readonly slots: Slot[] = [];
  private stopping: Promise<void> | null = null;
  private readonly backoff: BackoffOptions;
  private readonly healthyAfterMs: number;
  private readonly stopTimeoutMs: number;

  constructor(private readonly o: ProcessSupervisorOptions) {
    this.backoff = o.backoff ?? { initialMs: 500, factor: 2, maxMs: 30_000 };
    this.healthyAfterMs = o.healthyAfterMs ?? 30_000;
    this.stopTimeoutMs = o.stopTimeoutMs ?? 20_000;
  }

  /** Starts a process and keeps it running until stop(). */
  add(spec: SupervisedProcessSpec): void {
    if (this.stopping) throw new Error('supervisor is stopping');
    if (this.slots.some((s) => s.spec.name === spec.name)) throw new Error(`duplicate process name ${spec.name}`);
    const slot: Slot = { spec, child: null, backoff: new Backoff(this.backoff), startedAt: 0, restarts: 0, timer: null, exited: Promise.resolve() };
    this.slots.push(slot);
    this.launch(slot);
  }

  states(): SupervisedProcessState[] {
    return this.slots.map((s) => ({
      name: s.spec.name,
      pid: s.child?.pid ?? null,
      state: s.child ? 'running' : s.timer ? 'restarting' : 'stopped',
      restarts: s.restarts,
    }));
  }

  private launch(slot: Slot): void {
    slot.timer = null;
    const { spec } = slot;
    let child: ChildProcess;
    try {
      child = spawn(spec.command, [...spec.args], { env: spec.env, cwd: spec.cwd, stdio: this.o.stdio ?? 'inherit' });
    } catch (err) {
      this.o.log.error({ err, process: spec.name }, 'cannot spawn process');
      this.scheduleRestart(slot, null, null);
      return;
    }
    slot.child = child;
    slot.startedAt = Date.now();
    slot.exited = new Promise((resolve) => {
      child.once('error', (err) => {
        // ENOENT and the like: no 'exit' follows a failed spawn.
        if (child.pid === undefined) {
          this.o.log.error({ err, process: spec.name }, 'cannot spawn process');
          slot.child = null;
          resolve();
          if (!this.stopping) this.scheduleRestart(slot, null, null);
        }
      });
      child.once('exit', (code, signal) => {
        slot.child = null;
        resolve();
        if (this.stopping) return;
        this.scheduleRestart(slot, code, signal);
      });
    });
    if (child.pid !== undefined) this.o.log.info({ process: spec.name, pid: child.pid, restarts: slot.restarts }, 'process started');
  }

  private scheduleRestart(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    const ranMs = slot.startedAt ? Date.now() - slot.startedAt : 0;
    if (ranMs >= this.healthyAfterMs) slot.backoff.reset();
    const delayMs = slot.backoff.next();
    slot.restarts++;
    this.o.log.warn({ process: slot.spec.name, code, signal, ranMs, restartInMs: delayMs, restarts: slot.restarts }, 'process exited; restarting it');
    slot.timer = setTimeout(() => this.launch(slot), delayMs);
  }

  /** SIGTERM to every process (each drains), SIGKILL after stopTimeoutMs; no more restarts. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const slot of this.slots) {
        if (slot.timer) clearTimeout(slot.timer);
        slot.timer = null;
      }
      await Promise.all(
        this.slots.map(async (slot) => {
          const child = slot.child;
          if (!child) return;
          child.kill('SIGTERM');
          const killer = setTimeout(() => {
            this.o.log.warn({ process: slot.spec.name, pid: child.pid }, 'did not drain in time; SIGKILL');
            child.kill('SIGKILL');
          }, this.stopTimeoutMs);
          await slot.exited;
          clearTimeout(killer);
        }),
      );
    })();
    return this.stopping;
  }
}
