import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { PrivacySettings } from '@chronotrace/contracts';
import { InProcessBus, openStore, type Store } from '@chronotrace/platform';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import type { PrivacyProcessor } from '../../src/privacy/privacy-core-pool';
import { PrivacyStage } from '../../src/privacy/privacy-stage';
import { FixedBoxDetector, ThrowingDetector } from './detector-doubles';
import { fixture } from './face-eval-set';
import { collectRedacted, FlakyPublishBus, rawMeta, until } from './stage-harness';

const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };
const fastCore = (): PrivacyCore =>
  new PrivacyCore({ face: new FixedBoxDetector('face', [{ x: 100, y: 100, w: 40, h: 50, score: 0.9, label: 'face' }]), text: new FixedBoxDetector('text', []) });

describe('PrivacyStage (detector doubles, InProcessBus, PgliteStore)', () => {
  let bus: InProcessBus;
  let store: Store;
  let jpeg: Buffer;

  // One database for the file (opening PGlite costs ~1 s); each test uses its own camera names.
  beforeAll(async () => {
    store = await openStore({ kind: 'pglite' });
    jpeg = await fixture('street.jpg');
  });
  afterAll(async () => {
    await store.close();
  });
  beforeEach(() => {
    bus = new InProcessBus();
  });
  afterEach(async () => {
    await bus.close();
  });

  it('publishes the redacted frame under its frameId, stores the redaction record, then acks', async () => {
    const sink = await collectRedacted(bus);
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core: fastCore(), settingsFor: () => SETTINGS });
    await stage.start();
    const meta = rawMeta('cam1', 1);
    await bus.publish('frames.raw', 'cam1', { meta, body: jpeg }, { msgId: meta.frameId });
    await until('redacted frame', () => sink.frames.has(meta.frameId));
    await until('record', async () => (await store.redactions.count('cam1')) === 1);
    const got = sink.frames.get(meta.frameId);
    expect(got?.meta.redaction.faces).toHaveLength(1);
    expect(Buffer.from(got?.body ?? []).equals(jpeg)).toBe(false);
    const [record] = await store.redactions.list('cam1');
    expect(record).toMatchObject({ frameId: meta.frameId, camera: 'cam1', method: 'pixelate', faces: [{ x: 100, y: 100, w: 40, h: 50 }] });
    expect(record?.heads).toEqual(got?.meta.redaction.heads);
    await until('ack', () => (stage.stats().consumer?.acked ?? 0) === 1);
    expect(stage.stats().cameras.cam1).toEqual({ objectRuns: 0, motionSkipped: 0, processed: 1, skipped: 0, redactionFailures: 0, publishFailures: 0 });
    await stage.close();
  });

  it('keeps each camera\'s newest frames of a backlog, in capture order, and counts the older ones as skipped', async () => {
    // A core that holds the first frame until released, so the others pile up behind it.
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const inner = fastCore();
    let calls = 0;
    const core: PrivacyProcessor = {
      start: () => inner.start(),
      close: () => inner.close(),
      toJSON: () => inner.toJSON(),
      process: async (frame, settings) => {
        if (calls++ === 0) await held;
        return inner.process(frame, settings);
      },
    };
    const sink = await collectRedacted(bus);
    const order: string[] = [];
    const watcher = await bus.consume('frames.redacted', { durable: 'order-watch', deliverFrom: 'all', cameras: ['skip1'] }, async (ms) => {
      for (const m of ms) {
        order.push(m.envelope.meta.frameId);
        m.ack();
      }
    });
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core, settingsFor: () => SETTINGS, batch: 16, queuePerCamera: 2, inFlightPerCamera: 1 });
    await stage.start();
    await bus.publish('frames.raw', 'skip1', { meta: rawMeta('skip1', 1), body: jpeg }, { msgId: 'skip1:1000:1' });
    await until('the first frame held', () => calls === 1);
    for (let i = 2; i <= 5; i++) await bus.publish('frames.raw', 'skip1', { meta: rawMeta('skip1', i), body: jpeg }, { msgId: `skip1:1000:${i}` });
    for (let i = 1; i <= 2; i++) await bus.publish('frames.raw', 'skip2', { meta: rawMeta('skip2', i), body: jpeg }, { msgId: `skip2:1000:${i}` });
    await until('the backlog queued', () => stage.stageCounters().skip1?.skipped === 2);
    release();
    await until('every frame acked', () => (stage.stats().consumer?.acked ?? 0) === 7);
    // The sink hears of the last publish after the stage acked it: wait for the frames, not a moment.
    await until('the redacted frames received', () => sink.frames.size >= 5);
    // skip1: 1 (held), then its newest two of 2..5 (2 and 3 skipped); skip2: both. In capture order.
    expect([...sink.frames.keys()].sort()).toEqual(['skip1:1000:1', 'skip1:1000:4', 'skip1:1000:5', 'skip2:1000:1', 'skip2:1000:2']);
    expect(stage.stageCounters()).toEqual({ skip1: { processed: 3, skipped: 2, failures: 0 }, skip2: { processed: 2, skipped: 0, failures: 0 } });
    await until('skip1 published', () => order.length === 3);
    expect(order).toEqual(['skip1:1000:1', 'skip1:1000:4', 'skip1:1000:5']);
    await stage.close();
    await watcher.close();
  });

  it('redacts every frame of a recorded video (an upload) one at a time, in order, marked recorded: none skipped', async () => {
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    const inner = fastCore();
    let calls = 0;
    let inFlight = 0;
    let most = 0;
    const recorded: boolean[] = [];
    const core: PrivacyProcessor = {
      start: () => inner.start(),
      close: () => inner.close(),
      toJSON: () => inner.toJSON(),
      process: async (frame, settings) => {
        recorded.push(frame.recorded === true);
        most = Math.max(most, ++inFlight);
        if (calls++ === 0) await held;
        const r = await inner.process(frame, settings);
        inFlight--;
        return r;
      },
    };
    const sink = await collectRedacted(bus);
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core, settingsFor: () => SETTINGS, batch: 16, queuePerCamera: 2, inFlightPerCamera: 3, recordedFor: (c) => c === 'vid1' });
    await stage.start();
    await bus.publish('frames.raw', 'vid1', { meta: rawMeta('vid1', 1), body: jpeg }, { msgId: 'vid1:1000:1' });
    await until('the first frame held', () => calls === 1);
    for (let i = 2; i <= 6; i++) await bus.publish('frames.raw', 'vid1', { meta: rawMeta('vid1', i), body: jpeg }, { msgId: `vid1:1000:${i}` });
    await until('the backlog delivered', () => (stage.stats().consumer?.delivered ?? 0) === 6);
    // Held behind the first: more than queuePerCamera wait, and none is skipped or started beside it.
    expect(stage.stageCounters().vid1?.skipped ?? 0).toBe(0);
    expect(calls).toBe(1);
    release();
    await until('the redacted frames received', () => sink.frames.size >= 6);
    expect([...sink.frames.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6].map((i) => `vid1:1000:${i}`));
    expect(stage.stageCounters()).toEqual({ vid1: { processed: 6, skipped: 0, failures: 0 } });
    expect(most).toBe(1);
    expect(recorded).toEqual([true, true, true, true, true, true]);
    await stage.close();
  });

  it('drops (acks) a frame it cannot redact, counts it, and never publishes it raw', async () => {
    const sink = await collectRedacted(bus);
    const core = new PrivacyCore({ face: new ThrowingDetector('face'), text: new FixedBoxDetector('text', []) });
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core, settingsFor: () => SETTINGS });
    await stage.start();
    await bus.publish('frames.raw', 'fail1', { meta: rawMeta('fail1', 1), body: jpeg }, { msgId: 'fail1:1000:1' });
    await until('failure counted', () => stage.stats().cameras.fail1?.redactionFailures === 1);
    await until('ack', () => (stage.stats().consumer?.acked ?? 0) === 1);
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.frames.size).toBe(0);
    expect(await store.redactions.count('fail1')).toBe(0);
    expect(stage.stats().consumer?.redelivered).toBe(0);
    await stage.close();
  });

  it('drops a frame when the camera has no settings (fail closed)', async () => {
    const stage = new PrivacyStage({
      bus,
      redactions: store.redactions,
      core: fastCore(),
      settingsFor: () => {
        throw new Error('unknown camera');
      },
    });
    await stage.start();
    await bus.publish('frames.raw', 'cam9', { meta: rawMeta('cam9', 1), body: jpeg }, { msgId: 'cam9:1000:1' });
    await until('failure counted', () => stage.stats().cameras.cam9?.redactionFailures === 1);
    await stage.close();
  });

  it('naks a frame whose publish failed, and publishes it on redelivery', async () => {
    const flaky = new FlakyPublishBus(bus, 'frames.redacted', 1);
    const sink = await collectRedacted(bus);
    const stage = new PrivacyStage({ bus: flaky, redactions: store.redactions, core: fastCore(), settingsFor: () => SETTINGS, retryDelayMs: 20 });
    await stage.start();
    await bus.publish('frames.raw', 'retry1', { meta: rawMeta('retry1', 1), body: jpeg }, { msgId: 'retry1:1000:1' });
    await until('redacted after retry', () => sink.frames.has('retry1:1000:1'));
    expect(flaky.failed).toBe(1);
    await until('processed', () => stage.stats().cameras.retry1?.processed === 1);
    expect(stage.stats().cameras.retry1?.publishFailures).toBe(1);
    expect(stage.stats().consumer).toMatchObject({ naked: 1, redelivered: 1 });
    await stage.close();
  });

  it('close() is idempotent and closes the core with its detectors', async () => {
    const face = new FixedBoxDetector('face', []);
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core: new PrivacyCore({ face, text: new FixedBoxDetector('text', []) }), settingsFor: () => SETTINGS });
    await stage.start();
    await Promise.all([stage.close(), stage.close()]);
    await stage.close();
    expect(face.closed).toBe(true);
    await expect(stage.start()).rejects.toThrow(/closed/);
  });

  it('takes cameras in turn when frames keep arriving: no camera starves behind one whose frames are older', async () => {
    const face = new GatedDetector();
    const core = new PrivacyCore({ face, text: new FixedBoxDetector('text', []) });
    const stage = new PrivacyStage({ bus, redactions: store.redactions, core, settingsFor: () => SETTINGS });
    await stage.start();
    const publish = async (camera: string, seq: number): Promise<void> => {
      const meta = rawMeta(camera, seq);
      await bus.publish('frames.raw', camera, { meta, body: jpeg }, { msgId: meta.frameId });
      await new Promise((r) => setTimeout(r, 5));
    };
    await publish('turn-a', 0);
    await until('first frame in the model', () => face.pending === 1);
    for (let k = 1; k <= 4; k++) {
      // Every round camera a's newest frame is older than b's: oldest-first would always pick a.
      await publish('turn-a', k);
      await publish('turn-b', k);
      await new Promise((r) => setTimeout(r, 50));
      face.releaseOne();
      await until(`round ${k} started`, () => face.pending === 1);
    }
    face.open();
    const processed = (c: string): number => stage.stats().cameras[c]?.processed ?? 0;
    await until('last frame done', () => stage.stats().inFlight === 0 && processed('turn-a') + processed('turn-b') >= 6);
    expect(processed('turn-b')).toBeGreaterThanOrEqual(2);
    expect(processed('turn-a')).toBeGreaterThanOrEqual(2);
    await stage.close();
  });
});

/** A face detector that answers only when the test lets it: frames queue in front of it. */
class GatedDetector {
  readonly name = 'gated';
  readonly models = [{ name: 'gated', version: '0' }];
  private readonly waiting: (() => void)[] = [];
  private opened = false;
  get pending(): number {
    return this.waiting.length;
  }
  async start(): Promise<void> {}
  async detect(): Promise<{ boxes: []; ms: number }> {
    if (!this.opened) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return { boxes: [], ms: 1 };
  }
  releaseOne(): void {
    this.waiting.shift()?.();
  }
  /** From now on answer at once, and let the queued frames through. */
  open(): void {
    this.opened = true;
    while (this.waiting.length) this.releaseOne();
  }
  async close(): Promise<void> {
    this.open();
  }
}
