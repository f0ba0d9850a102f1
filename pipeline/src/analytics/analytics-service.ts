import type { AlertMessage } from '@chronotrace/contracts';
import { StageStatsPublisher, createLogger, type Bus, type CameraCatalog, type Logger, type Store } from '@chronotrace/platform';
import { MatchCore } from '../matching/match-core';
import type { TrackMatcherOptions } from '../matching/track-matcher';
import { SceneCore } from '../scene/scene-core';
import { SceneStage } from '../scene/scene-stage';
import { SINGLE_PARTITION, type Partition } from '../scene/partition';
import type { FrameSimilarity } from '../embed/frame-similarity';
import type { KeyframeSink } from '../search/keyframe-indexer';
import { siteOfCamera } from '../anomaly/site';
import { MatchStage } from './match-stage';
import { ReidCore } from '../reid/reid-core';
import { ReidStage } from '../reid/reid-stage';

export interface AnalyticsServiceOptions {
  bus: Bus;
  store: Store;
  /** Camera list, for zones. */
  catalog: CameraCatalog;
  instance: string;
  partition?: Partition;
  /** Matcher hysteresis and cooldown (the same options are used by backtests). */
  matcher?: TrackMatcherOptions;
  /** Scene frames kept for backtests. Default 72 h. */
  retentionMs?: number;
  /** Track summaries kept for search. Default 30 days. */
  summaryRetentionMs?: number;
  /** The similarity term (an embedder is on). Owned by the caller. */
  similarity?: FrameSimilarity;
  /** Where tracks' best views go to be embedded for search (an embedder and a vector index are on). Owned by the caller. */
  keyframes?: KeyframeSink;
  onAlert?: (alert: AlertMessage) => void;
  /** Also run the re-ID stage (embedded mode: one process holds every camera). Distributed mode runs it once, on its own. */
  reid?: boolean;
  logger?: Logger;
}

/**
 * Everything after the privacy boundary that keeps per-camera state: the scene stage (tracking,
 * attributes, zones) and the match stage (standing queries → alerts), one partition of the cameras.
 * Embedded mode runs one in the web process; distributed mode runs one process per partition.
 */
export class AnalyticsService {
  readonly scene: SceneStage;
  readonly match: MatchStage;
  readonly reid: ReidStage | null;
  private readonly publishers: StageStatsPublisher[];
  private closing: Promise<void> | undefined;
  private readonly catalog: AnalyticsServiceOptions['catalog'];

  constructor(o: AnalyticsServiceOptions) {
    this.catalog = o.catalog;
    const log = o.logger ?? createLogger('analytics');
    const partition = o.partition ?? SINGLE_PARTITION;
    const session = Date.now().toString(36);
    const core = new SceneCore({ session, zonesFor: (camera) => o.catalog.get(camera)?.zones ?? [] });
    this.scene = new SceneStage({ bus: o.bus, scene: o.store.scene, summaries: o.store.trackSummaries, core, partition, logger: log.child({ stage: 'scene' }), ...(o.retentionMs ? { retentionMs: o.retentionMs } : {}), ...(o.summaryRetentionMs ? { summaryRetentionMs: o.summaryRetentionMs } : {}), ...(o.keyframes ? { keyframes: o.keyframes } : {}) });
    this.match = new MatchStage({
      bus: o.bus,
      queries: o.store.queries,
      alerts: o.store.alerts,
      core: new MatchCore(o.matcher ?? {}, (camera) => siteOfCamera(o.catalog.get(camera))),
      partition,
      logger: log.child({ stage: 'match' }),
      ...(o.onAlert ? { onAlert: o.onAlert } : {}),
      ...(o.similarity ? { similarity: o.similarity, scene: o.store.scene } : {}),
    });
    const reid = o.reid ? new ReidStage({ bus: o.bus, links: o.store.reid, core: new ReidCore(), logger: log.child({ stage: 'reid' }), ...(o.summaryRetentionMs ? { retentionMs: o.summaryRetentionMs } : {}) }) : null;
    this.reid = reid;
    this.publishers = [
      new StageStatsPublisher(o.bus, 'scene', o.instance, () => this.scene.stageCounters(), log),
      new StageStatsPublisher(o.bus, 'match', o.instance, () => this.match.stageCounters(), log),
      ...(reid ? [new StageStatsPublisher(o.bus, 'reid', o.instance, () => reid.stageCounters(), log)] : []),
    ];
  }

  private offCatalog: (() => void) | undefined;

  /** Match and re-ID first: they must be consuming before the first scene frame or track event is published. */
  async start(): Promise<void> {
    await this.match.start();
    await this.reid?.start();
    await this.scene.start();
    // A camera removed from the list (a purged upload, a deleted camera): its tracks are dropped, and late frames of it ignored.
    let known = new Set(this.catalog.list().map((c) => c.id));
    const onChange = (list: readonly { id: string }[]): void => {
      const now = new Set(list.map((c) => c.id));
      for (const id of known) if (!now.has(id)) this.scene.forgetCamera(id);
      known = now;
    };
    this.catalog.on('change', onChange);
    this.offCatalog = () => this.catalog.off('change', onChange);
    for (const p of this.publishers) p.start();
  }

  toJSON(): { scene: ReturnType<SceneStage['stats']>; match: ReturnType<MatchStage['stats']>; reid: ReturnType<ReidStage['stats']> | null } {
    return { scene: this.scene.stats(), match: this.match.stats(), reid: this.reid?.stats() ?? null };
  }

  /** Scene first (no new scene frames), then match drains. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.offCatalog?.();
      await this.scene.close();
      await this.match.close();
      await this.reid?.close();
      for (const p of this.publishers) await p.close();
    })();
    return this.closing;
  }
}
