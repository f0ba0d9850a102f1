/**
 * The worker-thread side of a ModelWorker, written once for every detector: load the model (reporting
 * `ready` or `init-error`), then answer `detect` requests one at a time, by id. A request that throws
 * is answered with its message; the worker keeps serving.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelVersion } from '@chronotrace/contracts';

export interface ServedModel<L, P, B> {
  loaded: L;
  versions: ModelVersion[];
  backend: string;
  /** Extra fields of the ready message (e.g. the model's input size). */
  ready?: Record<string, unknown>;
  detect(loaded: L, jpeg: Uint8Array, params: P): Promise<{ boxes: B[]; inferMs: number }>;
}

interface DetectRequest<P> {
  type: 'detect';
  id: number;
  jpeg: Uint8Array;
  params: P;
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
        const r = await m.detect(m.loaded, req.jpeg, req.params);
        port.postMessage({ type: 'result', id: req.id, ok: true, boxes: r.boxes, inferMs: r.inferMs });
      } catch (e) {
        port.postMessage({ type: 'result', id: req.id, ok: false, message: e instanceof Error ? e.message : String(e) });
      }
    });
  });
}
