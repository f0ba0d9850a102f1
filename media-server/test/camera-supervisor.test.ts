import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CameraHealth } from '@chronotrace/contracts';
import { Backoff, createLogger } from '@chronotrace/platform';
import { CameraSupervisor, type CameraFrame } from '../src/camera-supervisor';
import { EnhancedEventEmitter } from '../src/enhanced-events';
import type { FrameSource, FrameSourceEvents, FrameSourceStats } from '../src/frame-source';

/** A source driven by the test: it stands in for ffmpeg only in these state-machine tests. */
class ScriptedSource extends EnhancedEventEmitter<FrameSourceEvents> implements FrameSource {
  readonly kind = 'testsrc';
  pid: number | undefined = undefined;
  started = false;
  closed = false;
  #seq = 0;
  constructor() {
    super(createLogger('test.scripted-source'));
  }
  async start(): Promise<void> {
    this.started = true;
    this.pid = 4242;
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pid = undefined;
    this.safeEmit('exit', { code: 255, signal: null, reason: 'closed', requested: true, stderrTail: [] });
  }
  frame(): void {
    this.safeEmit('frame', { jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]), width: 64, height: 48, capturedAt: Date.now(), seq: this.#seq++ });
  }
  idle(reason: string): void {
    this.safeEmit('idle', reason);
  }
  die(reason: string): void {
    this.pid = undefined;
    this.safeEmit('exit', { code: 1, signal: null, reason, requested: false, stderrTail: [reason] });
  }
  toJSON(): FrameSourceStats {
    return { kind: 'testsrc', pid: this.pid ?? null, frames: this.#seq, badFrames: 0, bytesIn: 0, discardedBytes: 0, oversized: 0, running: !this.closed };
  }
}

describe('Backoff', () => {
  it('doubles from 500 ms and caps at 10 s', () => {
    const b = new Backoff();
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('starts again from the initial delay after reset()', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('refuses a maximum below the initial delay', () => {
    expect(() => new Backoff({ initialMs: 1000, maxMs: 10 })).toThrow(RangeError);
  });
});

describe('CameraSupervisor state machine', () => {
  let sources: ScriptedSource[];
  let states: CameraHealth[];
  let supervisor: CameraSupervisor;

  const current = () => sources[sources.length - 1]!;
  const make = (fps = 5) => {
    supervisor = new CameraSupervisor({
      camera: { id: 'cam-a', source: 'testsrc:testsrc2', fps, width: 64 },
      createSource: () => {
        const s = new ScriptedSource();
        sources.push(s);
        return s;
      },
    });
    supervisor.on('health', (h) => states.push(h));
    supervisor.start();
    return supervisor;
  };

  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
    sources = [];
    states = [];
  });

  afterEach(async () => {
    await supervisor.close();
    vi.useRealTimers();
  });

  it('starts in starting and goes live on the first frame', async () => {
    make();
    expect(supervisor.state).toBe('starting');
    await vi.advanceTimersByTimeAsync(10);
    current().frame();
    expect(supervisor.state).toBe('live');
    expect(states.map((s) => s.state)).toEqual(['starting', 'live']);
    expect(supervisor.health().lastFrameAt).toBe(Date.now());
  });

  it('a source with nothing to send (no publisher) is down with its reason, kept running, and goes live on its first frame', async () => {
    make();
    await vi.advanceTimersByTimeAsync(10);
    current().idle('no WHIP publisher');
    expect(supervisor.state).toBe('down');
    expect(supervisor.health().lastError).toBe('no WHIP publisher');
    expect(sources).toHaveLength(1);
    expect(current().closed).toBe(false);
    current().frame();
    expect(supervisor.state).toBe('live');
    expect(sources).toHaveLength(1);
  });

  it('numbers frames on across restarts', async () => {
    make();
    const frames: CameraFrame[] = [];
    supervisor.on('frame', (f) => frames.push(f));
    current().frame();
    current().frame();
    current().die('boom');
    await vi.advanceTimersByTimeAsync(500);
    current().frame();
    expect(frames.map((f) => f.seq)).toEqual([0, 1, 2]);
    expect(new Set(frames.map((f) => f.sessionStart)).size).toBe(1);
  });

  it('goes stalled after max(3 s, 3/fps) without a frame, then restarts the source', async () => {
    make(5);
    current().frame();
    await vi.advanceTimersByTimeAsync(2900);
    expect(supervisor.state).toBe('live');
    await vi.advanceTimersByTimeAsync(400);
    expect(supervisor.state).toBe('stalled');
    expect(supervisor.health().lastError).toMatch(/no frame for 3\.\d s/);
    expect(sources[0]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(sources).toHaveLength(2);
    expect(supervisor.health().restarts).toBe(1);
    current().frame();
    expect(supervisor.state).toBe('live');
  });

  it('waits 3/fps before calling a slow camera stalled', async () => {
    make(0.5);
    current().frame();
    await vi.advanceTimersByTimeAsync(5000);
    expect(supervisor.state).toBe('live');
    await vi.advanceTimersByTimeAsync(1500);
    expect(supervisor.state).toBe('stalled');
  });

  it('goes down with the reason when the source exits, and retries with capped exponential backoff', async () => {
    make();
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      const before = sources.length;
      current().die('rtsp://127.0.0.1:9/x: Connection refused');
      expect(supervisor.state).toBe('down');
      expect(supervisor.health().lastError).toBe('rtsp://127.0.0.1:9/x: Connection refused');
      let waited = 0;
      while (sources.length === before) {
        await vi.advanceTimersByTimeAsync(100);
        waited += 100;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
    expect(supervisor.health().restarts).toBe(7);
    // Stays down (not flapping to starting) while it retries.
    expect(supervisor.state).toBe('down');
  });

  it('resets the backoff after staying live for 30 s', async () => {
    make();
    current().die('x');
    await vi.advanceTimersByTimeAsync(500);
    current().die('x');
    await vi.advanceTimersByTimeAsync(1000);
    for (let t = 0; t < 31_000; t += 200) {
      current().frame();
      await vi.advanceTimersByTimeAsync(200);
    }
    const before = sources.length;
    current().die('x');
    await vi.advanceTimersByTimeAsync(500);
    expect(sources.length).toBe(before + 1);
  });

  it('measures fps over a sliding window and drops to 0 when frames stop', async () => {
    make(5);
    for (let i = 0; i < 20; i++) {
      current().frame();
      await vi.advanceTimersByTimeAsync(200);
    }
    expect(supervisor.health().fps).toBeCloseTo(5, 1);
    await vi.advanceTimersByTimeAsync(4000);
    expect(supervisor.health().fps).toBe(0);
  });

  it('restarts a source that never produces a first frame', async () => {
    make();
    await vi.advanceTimersByTimeAsync(10_300);
    expect(supervisor.state).toBe('stalled');
    expect(supervisor.health().lastError).toMatch(/no frame within/);
    await vi.advanceTimersByTimeAsync(500);
    expect(sources).toHaveLength(2);
  });

  it('is down with the reason and does not retry a source it cannot parse', async () => {
    supervisor = new CameraSupervisor({ camera: { id: 'cam-b', source: 'ftp://x/y', fps: 2, width: 64 }, createSource: () => new ScriptedSource() });
    supervisor.start();
    expect(supervisor.state).toBe('down');
    expect(supervisor.health().lastError).toMatch(/unsupported source scheme/);
  });

  it('closes idempotently: stopped, the source closed, no more restarts', async () => {
    make();
    current().die('x');
    const closing = [supervisor.close(), supervisor.close()];
    await Promise.all(closing);
    expect(supervisor.state).toBe('stopped');
    expect(states[states.length - 1]!.state).toBe('stopped');
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sources).toHaveLength(1);
  });

  it('survives a frame listener that throws', async () => {
    make();
    supervisor.on('frame', () => {
      throw new Error('listener bug');
    });
    expect(() => current().frame()).not.toThrow();
    expect(supervisor.state).toBe('live');
  });
});
