import { ConfigError, EnvError, createLogger, loadStreamsConfig, parseEnv } from '@chronotrace/platform';
import { isEmbedderError } from '@chronotrace/pipeline';
import { Runtime } from './runtime';

/** `npm start`: validate env and config once, start the runtime, drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const log = createLogger('main');
  let runtime: Runtime;
  try {
    const env = parseEnv();
    const config = await loadStreamsConfig(env.CHRONOTRACE_CONFIG);
    runtime = await Runtime.start({ env, config, logger: createLogger('chronotrace', { mode: env.MODE }) });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof EnvError) {
      log.fatal({ details: e.details }, e.message);
      process.stderr.write(`\nChronoTrace cannot start: ${e.message}\n`);
    } else if (isEmbedderError(e)) {
      log.fatal({ err: e }, e.message);
      process.stderr.write(`\nChronoTrace cannot start: the embedder (EMBEDDER) failed: ${e.message}\n`);
    } else {
      log.fatal({ err: e }, 'start-up failed');
    }
    process.exit(1);
  }
  log.info({ url: runtime.url }, `ChronoTrace live wall at ${runtime.url}`);
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'draining');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    runtime.close().then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: e }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
