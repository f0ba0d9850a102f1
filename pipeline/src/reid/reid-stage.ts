import type { ReidLink, StageStats } from '@chronotrace/contracts';
import { createLogger, type Bus, type BusMessage, type Consumer, type Logger, type ReidRepository } from '@chronotrace/platform';
import { ReidEventError, type ReidCore, type ReidCoreStats } from './reid-core';

export const REID_DURABLE = 'reid';

export interface ReidStageOptions {
  bus: Bus;
  /** Where links are kept (store.reid). */
  links: ReidRepository;
  core: ReidCore;
  /** Links older than this are pruned (and not re-learned). Default 30 days, as track summaries. */
  retentionMs?: number;
  /** How often to prune. Default 10 min. */
  pruneEveryMs?: number;
  logger?: Logger;
}

export const DEFAULT_REID_RETENTION_MS = 30 * 86_400_000;
/** Links re-learned at start-up: the camera topology of the last week, at most this many links. */
const SEED_LINKS = 5_000;
const SEED_WINDOW_MS = 7 * 86_400_000;

export interface ReidStageStats {
  core: ReidCoreStats;
  consumer: ReturnType<Consumer['stats']> | null;
  storeFailures: number;
  publishFailures: number;
}

/**
 * Bus adapter of the re-ID stage: consumes `tracks` (one durable for every camera: linking is across
 * cameras, so one replica holds the state; its links are in the store, and a restarted replica
 * re-learns the topology from them), stores each link, publishes it on `links.<to camera>` for the
 * wall's live handoff (msgId: the successor track, so a redelivery does not announce it twice), acks.
 */
export class ReidStage {
  private readonly log: Logger;
  private consumer: Consumer | undefined;
  private closing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private storeFailures = 0;
  private publishFailures = 0;
  /** Events handled per camera, for the stage counters. */
  private readonly processed = new Map<string, number>();

  constructor(private readonly o: ReidStageOptions) {
    this.log = o.logger ?? createLogger('reid-stage');
  }

  async start(): Promise<void> {
    const since = Date.now() - Math.min(SEED_WINDOW_MS, this.o.retentionMs ?? DEFAULT_REID_RETENTION_MS);
    const seed = await this.o.links.recent(since, SEED_LINKS);
    this.o.core.seed(seed);
    this.consumer = await this.o.bus.consume('tracks', { durable: REID_DURABLE, batch: 64, deliverFrom: 'new', ackWaitMs: 10_000 }, (messages) => this.handle(messages));
    this.timer = setInterval(() => void this.prune(), this.o.pruneEveryMs ?? 600_000);
    this.timer.unref();
    this.log.info({ seeded: seed.length, topology: this.o.core.topology() }, 're-ID stage consuming tracks');
  }

  /** In delivery order (the scene stage publishes in capture order per camera). */
  private async handle(messages: BusMessage<'tracks'>[]): Promise<void> {
    for (const m of messages) {
      this.processed.set(m.camera, (this.processed.get(m.camera) ?? 0) + 1);
      let link: ReidLink | null;
      try {
        link = this.o.core.handle(m.envelope.meta);
      } catch (err) {
        if (!(err instanceof ReidEventError)) throw err;
        this.log.warn({ camera: m.camera, err: err.message }, 'track event refused');
        m.ack();
        continue;
      }
      if (link) await this.deliver(link);
      m.ack();
    }
  }

  private async deliver(link: ReidLink): Promise<void> {
    try {
      await this.o.links.append([link]);
    } catch (err) {
      this.storeFailures++;
      this.log.error({ err, from: link.from, to: link.to }, 're-ID link not stored');
    }
    const published = await this.o.bus.publish('links', link.toCamera, { meta: link }, { msgId: `link:${link.to}` });
    if (!published.ok) {
      this.publishFailures++;
      this.log.warn({ to: link.to, reason: published.reason, detail: published.detail }, 're-ID link not published');
    }
    this.log.info({ identity: link.identity, from: link.from, to: link.to, confidence: link.confidence, transitSeconds: link.transitSeconds }, 'track handed off across cameras');
  }

  private async prune(): Promise<void> {
    try {
      const n = await this.o.links.prune(Date.now() - (this.o.retentionMs ?? DEFAULT_REID_RETENTION_MS));
      if (n > 0) this.log.info({ links: n }, 'pruned old re-ID links');
    } catch (err) {
      this.log.warn({ err }, 'could not prune re-ID links');
    }
  }

  stats(): ReidStageStats {
    return { core: this.o.core.toJSON(), consumer: this.consumer?.stats() ?? null, storeFailures: this.storeFailures, publishFailures: this.publishFailures };
  }

  stageCounters(): StageStats['cameras'] {
    const out: StageStats['cameras'] = {};
    for (const [k, v] of this.processed) out[k] = { processed: v, skipped: 0, failures: 0 };
    return out;
  }

  /** Stops consuming (the batch in hand finishes). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.timer);
      const c = this.consumer;
      this.consumer = undefined;
      await c?.close();
    })();
    return this.closing;
  }
}
