import { join } from 'node:path';
import { CameraCatalog, createLogger, env, exitAfterDrainOnSignal, instanceId, openPorts } from '@chronotrace/platform';
import { PrivacyService } from './privacy-service';

/** Distributed mode: one privacy process. Start more to scale out: they split the cameras (leases in the store) and take over a dead one's. */
async function main(): Promise<void> {
  const e = env();
  const instance = instanceId();
  const log = createLogger('privacy', { instance });
  const ports = await openPorts(e, `chronotrace-privacy-${instance}`);
  const catalog = new CameraCatalog(ports.store, log.child({ component: 'catalog' }));
  await catalog.start();
  const service = new PrivacyService({ bus: ports.bus, store: ports.store, catalog, instance, faceModel: e.PRIVACY_FACE_MODEL, modelCacheDir: join(e.DATA_DIR, 'models'), replicas: e.PRIVACY_REPLICAS, objectDetection: e.PRIVACY_OBJECT_DETECTION === 'on', partitioned: true, logger: log });
  await service.start();
  log.info({ cores: service.toJSON().replicas, cameras: service.ownership?.cameras() }, 'privacy stage consuming its cameras');
  exitAfterDrainOnSignal(log, async () => {
    catalog.close();
    await service.close();
    await ports.close();
  });
}

main().catch((err: unknown) => {
  createLogger('privacy').fatal({ err }, 'privacy stage failed to start');
  process.exit(1);
});
