import { CameraCatalog, createLogger, env, instanceId, openPorts } from '@chronotrace/platform';
import { PrivacyService } from './privacy-service';

/** Distributed mode: one privacy replica process. Start more to scale out; they share the durable. */
async function main(): Promise<void> {
  const e = env();
  const instance = instanceId();
  const log = createLogger('privacy', { instance });
  const ports = await openPorts(e, `chronotrace-privacy-${instance}`);
  const catalog = new CameraCatalog(ports.store, log.child({ component: 'catalog' }));
  await catalog.start();
  const service = new PrivacyService({ bus: ports.bus, store: ports.store, catalog, instance, faceModel: e.PRIVACY_FACE_MODEL, replicas: e.PRIVACY_REPLICAS, objectDetection: e.PRIVACY_OBJECT_DETECTION === 'on', logger: log });
  await service.start();
  log.info({ cores: service.toJSON().replicas }, 'privacy stage consuming');
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    catalog.close();
    service
      .close()
      .then(() => ports.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  createLogger('privacy').fatal({ err }, 'privacy stage failed to start');
  process.exit(1);
});
