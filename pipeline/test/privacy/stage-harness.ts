/** Helpers for PrivacyStage tests on the real InProcessBus and an in-memory PgliteStore. */
import type { Envelope, FrameMeta, RedactedFrameMeta, StreamKind } from '@chronotrace/contracts';
import type { Bus, BusStats, Consumer, ConsumeOptions, BatchHandler, PublishOptions, PublishResult } from '@chronotrace/platform';

export function rawMeta(camera: string, seq: number, width = 640, height = 480): FrameMeta {
  return { camera, frameId: `${camera}:1000:${seq}`, seq, capturedAt: Date.now(), width, height };
}

/** Collects every frames.redacted message (its own durable, from the start of the stream). */
export async function collectRedacted(bus: Bus): Promise<{ frames: Map<string, { meta: RedactedFrameMeta; body: Uint8Array }>; consumer: Consumer }> {
  const frames = new Map<string, { meta: RedactedFrameMeta; body: Uint8Array }>();
  const consumer = await bus.consume('frames.redacted', { durable: 'test-sink', deliverFrom: 'all' }, async (ms) => {
    for (const m of ms) {
      frames.set(m.envelope.meta.frameId, { meta: m.envelope.meta, body: m.envelope.body ?? new Uint8Array(0) });
      m.ack();
    }
  });
  return { frames, consumer };
}

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Bus that fails the first `failures` publishes of one kind with reason 'error' (a broker hiccup). */
export class FlakyPublishBus implements Bus {
  readonly kind: Bus['kind'];
  readonly maxPayloadBytes: number;
  failed = 0;
  constructor(
    private readonly inner: Bus,
    private readonly failKind: StreamKind,
    private failures: number,
  ) {
    this.kind = inner.kind;
    this.maxPayloadBytes = inner.maxPayloadBytes;
  }
  async publish<K extends StreamKind>(kind: K, camera: string, envelope: Envelope<K>, options: PublishOptions): Promise<PublishResult> {
    if (kind === this.failKind && this.failures > 0) {
      this.failures--;
      this.failed++;
      return { ok: false, reason: 'error', detail: 'injected publish failure' };
    }
    return this.inner.publish(kind, camera, envelope, options);
  }
  consume<K extends StreamKind>(kind: K, options: ConsumeOptions, handler: BatchHandler<K>): Promise<Consumer> {
    return this.inner.consume(kind, options, handler);
  }
  stats(): BusStats {
    return this.inner.stats();
  }
  ping(): Promise<boolean> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
