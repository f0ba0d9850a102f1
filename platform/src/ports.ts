import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { natsAuthOf, type Env } from './env';
import type { Bus } from './bus/bus';
import { InProcessBus } from './bus/in-process-bus';
import { JetStreamBus } from './bus/jetstream-bus';
import type { Store } from './store/store';
import { openStore } from './store/open-store';

export interface Ports {
  bus: Bus;
  store: Store;
  /** Closes the bus, then the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * The two port implementations per mode, chosen from the validated env:
 * embedded → in-process bus + PGlite in DATA_DIR/db; distributed → NATS JetStream + PostgreSQL.
 */
export async function openPorts(env: Env, name = 'chronotrace'): Promise<Ports> {
  let bus: Bus;
  let store: Store;
  if (env.MODE === 'embedded') {
    const dataDir = join(env.DATA_DIR, 'db');
    mkdirSync(dataDir, { recursive: true });
    store = await openStore({ kind: 'pglite', dataDir });
    bus = new InProcessBus();
  } else {
    store = await openStore({ kind: 'postgres', url: env.DATABASE_URL, ...(env.DATABASE_SCHEMA ? { schema: env.DATABASE_SCHEMA } : {}) });
    try {
      bus = await JetStreamBus.connect({ servers: env.NATS_URL, prefix: env.BUS_PREFIX, name, auth: natsAuthOf(env) });
    } catch (e) {
      await store.close();
      throw e;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    bus,
    store,
    close: () => (closing ??= bus.close().finally(() => store.close())),
  };
}
