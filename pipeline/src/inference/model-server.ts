/**
 * The worker-thread side of a ModelWorker, written once for every detector: load the model (reporting
 * `ready` or `init-error`), then answer `detect` requests one at a time, by id. A request that throws
 * is answered with its message; the worker keeps serving.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelVersion } from '@chronotrace/contracts';
import { decodeRgbFrame } from './decode-frame';
import type { RgbFrame } from './image-tensor';

export interface ServedModel<L, P, B> {
  loaded: L;
  versions: ModelVersion[];
  backend: string;
  /** Extra fields of the ready message (e.g. the model's input size). */
  ready?: Record<string, unknown>;
  /** Runs the model on one decoded frame (decoding is done here, once, for every model). */
  detect(loaded: L, frame: RgbFrame, params: P): Promise<{ boxes: B[]; inferMs: number }>;
}

/** A frame's decoded pixels (in shared memory, from the host's own decode) or its JPEG. */
type DetectRequest<P> = { type: 'detect'; id: number; params: P } & ({ rgb: RgbFrame; jpeg?: undefined } | { jpeg: Uint8Array; rgb?: undefined });

function checkFrame(f: RgbFrame): RgbFrame {
  if (!(f.data instanceof Uint8Array) || !Number.isInteger(f.width) || !Number.isInteger(f.height) || f.width < 1 || f.height < 1 || f.data.length !== f.width * f.height * 3) {
    throw new Error(`not an RGB frame (${String(f.width)}×${String(f.height)}, ${f.data?.length ?? 0} bytes)`);
  }
  return f;
}

const message = (e: unknown): string => (e instanceof Error ? (e.stack ?? e.message) : String(e));

/** Serves one model in this worker thread. `load` gets the worker's workerData. */
export function serveModel<D, L, P, B>(what: string, load: (data: D) => Promise<ServedModel<L, P, B>>): void {
  const port = parentPort;
  if (!port) throw new Error(`${what} worker must run in a worker thread`);
  const ready = load(workerData as D).then(
    (m) => {
      port.postMessage({ ...m.ready, type: 'ready', versions: m.versions, backend: m.backend });
      return m;
    },
    (e: unknown) => {
      port.postMessage({ type: 'init-error', message: message(e) });
      return null;
    },
  );
  // One frame at a time: each model thread is one core's worth, and queueing here keeps memory flat.
  let chain: Promise<unknown> = Promise.resolve();
  port.on('message', (req: DetectRequest<P>) => {
    chain = chain.then(async () => {
      const m = await ready;
      if (!m) return port.postMessage({ type: 'result', id: req.id, ok: false, message: `${what} model failed to load` });
      try {
        const frame = req.rgb ? checkFrame(req.rgb) : await decodeRgbFrame(req.jpeg);
        const r = await m.detect(m.loaded, frame, req.params);
        port.postMessage({ type: 'result', id: req.id, ok: true, boxes: r.boxes, inferMs: r.inferMs });
      } catch (e) {
        port.postMessage({ type: 'result', id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) });
      }
    });
  });
}
