import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../distributed/processes';

/** Debian's nats-server, the one the machine's own NATS runs (see .ci/run). */
export const NATS_SERVER_BINARY = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * A private nats-server with JetStream on a free loopback port and its own store folder, for tests that
 * stop and restart the broker (the machine's shared server must not be touched). restart() keeps the
 * port and the store, as an operator restarting the service would.
 */
export class NatsServerProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly storeDir: string,
    private readonly args: readonly string[],
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** Starts one; `args` are extra nats-server flags (e.g. --user/--pass). Fails when the binary is missing. */
  static async start(args: readonly string[] = []): Promise<NatsServerProcess> {
    if (!existsSync(NATS_SERVER_BINARY)) throw new Error(`${NATS_SERVER_BINARY} is missing: install Debian's nats-server (the machine's NATS)`);
    const server = new NatsServerProcess(await freePort(), await mkdtemp(join(tmpdir(), 'ct-nats-')), args);
    await server.run();
    return server;
  }

  private async run(): Promise<void> {
    const child = spawn(NATS_SERVER_BINARY, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir, ...this.args], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-4_000);
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    // Up when the port accepts connections (nats-server opens it once JetStream has recovered its store).
    for (let i = 0; i < 200 && !gone; i++) {
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`nats-server on port ${this.port} did not start: ${stderr}`);
  }

  /** Stops the server (SIGTERM, as a service stop does) and waits for it to exit. */
  async stop(): Promise<void> {
    if (!this.child) return;
    const child = this.child;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await this.exited;
  }

  /** Starts it again on the same port with the same store. */
  async startAgain(): Promise<void> {
    if (this.child) throw new Error('nats-server is already running');
    await this.run();
  }

  /** Stops it and removes its store. */
  async dispose(): Promise<void> {
    await this.stop();
    await rm(this.storeDir, { recursive: true, force: true });
  }
}
