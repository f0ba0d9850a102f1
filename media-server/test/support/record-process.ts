/*
 * A recorder in a process of its own, for the SIGKILL test: records generated frames of camera "yard"
 * into MEDIA_ROOT with its index in PostgreSQL (DATABASE_URL, DATABASE_SCHEMA), printing
 * "segment <seq>" as each one is indexed. Runs until killed.
 */
import { cameraSchema } from '@chronotrace/contracts';
import { InProcessBus, createLogger, openStore } from '@chronotrace/platform';
import { resolveFfmpeg } from '../../src/ffmpeg-binary';
import { RecordingService } from '../../src/recording/recording-service';
import { movingSquareFrames, pace } from './frames';

const log = createLogger('record-process');
log.level = 'warn';
const store = await openStore({ kind: 'postgres', url: process.env.DATABASE_URL!, schema: process.env.DATABASE_SCHEMA! });
const camera = { ...cameraSchema.parse({ id: 'yard', name: 'Yard', source: 'testsrc:testsrc2', fps: 10 }), origin: 'api' as const, createdAt: 0 };
const recordings = store.recordings;
const service = new RecordingService({
  // The store's repository, telling the test about each segment it indexes.
  recordings: Object.assign(Object.create(recordings) as typeof recordings, {
    add: async (s: Parameters<typeof recordings.add>[0], at: number) => {
      const added = await recordings.add(s, at);
      process.stdout.write(`segment ${s.seq}\n`);
      return added;
    },
  }),
  cameras: () => [camera],
  ffmpeg: resolveFfmpeg,
  root: process.env.MEDIA_ROOT!,
  log,
  minFreeBytes: 0,
});
const bus = new InProcessBus();
await service.start(bus);
const frames = await movingSquareFrames(40, 320, 240);
pace(frames, 10, (jpeg, at) => service.push('yard', jpeg, at));
process.stdout.write('recording\n');
