/**
 * Distributed mode on one machine, against NATS JetStream, PostgreSQL and Redis that are already running
 * (defaults: 127.0.0.1:4222, postgres://postgres@127.0.0.1:5432/test, redis://127.0.0.1:6379).
 * Runs the web process, ingest, PRIVACY_PROCESSES privacy processes (default 2; each redacts
 * PRIVACY_REPLICAS frames at once) and ANALYTICS_PROCESSES analytics processes (default 1; one camera
 * partition each), each its own Node process under a supervisor: a process that dies is started again
 * (500 ms doubling to 30 s) while the others keep running. SIGINT/SIGTERM drains them all.
 */
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { EnvError, ProcessSupervisor, createLogger, parseEnv } from '@chronotrace/platform';

const root = fileURLToPath(new URL('../', import.meta.url));
const log = createLogger('supervisor');

const childEnv: NodeJS.ProcessEnv = { ...process.env, MODE: 'distributed' };
let env;
try {
  // Every process validates its own environment too; this names a bad field before anything starts.
  env = parseEnv(childEnv);
} catch (err) {
  if (err instanceof EnvError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

if (!existsSync(new URL('../web/build/handler.js', import.meta.url))) {
  log.info('building the web app first');
  const built = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const supervisor = new ProcessSupervisor({ log });
const node = (name: string, entry: string, extra: Record<string, string> = {}): void =>
  supervisor.add({ name, command: process.execPath, args: ['--import', 'tsx', entry], cwd: root, env: { ...childEnv, ...extra } });

node('web', 'web/server/main.ts');
node('ingest', 'media-server/src/main.ts');
for (let i = 1; i <= env.PRIVACY_PROCESSES; i++) node(`privacy-${i}`, 'pipeline/src/privacy/main.ts');
for (let i = 0; i < env.ANALYTICS_PROCESSES; i++) {
  node(`analytics-${i}`, 'pipeline/src/analytics/main.ts', { ANALYTICS_PARTITION: `${i}/${env.ANALYTICS_PROCESSES}` });
}
// One re-ID stage: it links tracks across every camera.
node('reid', 'pipeline/src/reid/main.ts');

let stopping = false;
const stop = (signal: NodeJS.Signals): void => {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'stopping every process');
  void supervisor.stop().then(() => {
    log.info('all processes stopped');
    process.exit(0);
  });
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
