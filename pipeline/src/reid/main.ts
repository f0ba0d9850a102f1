import { StageStatsPublisher, createLogger, env, exitAfterDrainOnSignal, instanceId, openPorts } from '@chronotrace/platform';
import { ReidCore } from './reid-core';
import { ReidStage } from './reid-stage';

/**
 * Distributed mode: the re-ID stage (cross-camera links of person tracks). Run one: linking compares
 * tracks of every camera, so its state is global; a second replica would share the durable and see
 * half the events. Its links are stored, so a restart keeps identities and the learned topology.
 */
async function main(): Promise<void> {
  const e = env();
  const instance = instanceId();
  const log = createLogger('reid', { instance });
  const ports = await openPorts(e, `chronotrace-reid-${instance}`);
  const stage = new ReidStage({ bus: ports.bus, links: ports.store.reid, core: new ReidCore(), retentionMs: e.SEARCH_RETENTION_DAYS * 86_400_000, logger: log });
  await stage.start();
  const stats = new StageStatsPublisher(ports.bus, 'reid', instance, () => stage.stageCounters(), log);
  stats.start();
  exitAfterDrainOnSignal(log, async () => {
    await stage.close();
    await stats.close();
    await ports.close();
  });
}

main().catch((err: unknown) => {
  createLogger('reid').fatal({ err }, 're-ID stage failed to start');
  process.exit(1);
});
