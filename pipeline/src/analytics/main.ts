import { CameraCatalog, analyticsPartitionOf, createLogger, env, exitAfterDrainOnSignal, instanceId, matcherOptionsOf, openKeyframeIndex, openPorts } from '@chronotrace/platform';
import { frameSimilarityOf, openEmbedder } from '../embed/open-embedder';
import { KeyframeIndexer } from '../search/keyframe-indexer';
import { AnalyticsService } from './analytics-service';

/**
 * Distributed mode: one analytics process (tracking, attributes, standing-query matching) for the
 * cameras of ANALYTICS_PARTITION (`i/n`). Run one process per partition: tracking is stateful per camera.
 */
async function main(): Promise<void> {
  const e = env();
  const instance = instanceId();
  const partition = analyticsPartitionOf(e);
  const log = createLogger('analytics', { instance, partition: e.ANALYTICS_PARTITION });
  const ports = await openPorts(e, `chronotrace-analytics-${instance}`);
  const embedder = await openEmbedder(e);
  // Tracks' best views are embedded for search into the shared index (Qdrant in this mode).
  const vectors = embedder ? await openKeyframeIndex(e, `${embedder.name}@${embedder.version}`, embedder.dimensions) : null;
  if (embedder && !vectors) log.warn('VECTOR_INDEX=usearch cannot be shared between processes: keyframes are not indexed (set VECTOR_INDEX=qdrant and QDRANT_URL)');
  const keyframes = embedder && vectors ? new KeyframeIndexer({ embedder, index: vectors, logger: log.child({ component: 'keyframes' }) }) : null;
  const catalog = new CameraCatalog(ports.store, log.child({ component: 'catalog' }));
  await catalog.start();
  const service = new AnalyticsService({
    bus: ports.bus,
    store: ports.store,
    catalog,
    instance,
    partition,
    matcher: matcherOptionsOf(e),
    retentionMs: e.SCENE_RETENTION_HOURS * 3600_000,
    summaryRetentionMs: e.SEARCH_RETENTION_DAYS * 86_400_000,
    logger: log,
    ...(embedder ? { similarity: frameSimilarityOf(embedder, e) } : {}),
    ...(keyframes ? { keyframes } : {}),
  });
  await service.start();
  log.info({ embedder: embedder ? `${embedder.name}@${embedder.version}` : 'off' }, 'analytics consuming');
  exitAfterDrainOnSignal(log, async () => {
    catalog.close();
    await service.close();
    await keyframes?.close();
    await vectors?.close();
    await embedder?.close();
    await ports.close();
  });
}

main().catch((err: unknown) => {
  createLogger('analytics').fatal({ err }, 'analytics failed to start');
  process.exit(1);
});
