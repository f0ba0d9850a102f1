/*
 * An embedded ChronoTrace in a process of its own, for tests that kill it: DATA_DIR from the env, no
 * cameras, recording on; prints "url <url>" once it serves, then runs until killed.
 */
import { parseEnv, validateStreamsConfig } from '@chronotrace/platform';
import { Runtime } from '../../web/server/runtime';

const runtime = await Runtime.start({
  env: parseEnv({ MODE: 'embedded', PORT: '0', HOST: '127.0.0.1', DATA_DIR: process.env.DATA_DIR, LOG_LEVEL: 'silent', WEBRTC: 'off', RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' }),
  config: validateStreamsConfig({ cameras: [] }),
});
process.stdout.write(`url ${runtime.url}\n`);
