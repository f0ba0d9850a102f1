import { EventEmitter } from 'node:events';
import type { Logger } from '@chronotrace/platform';

/** Event name → listener argument tuple. */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * EventEmitter with typed events and `safeEmit`: a throwing listener is logged, never
 * propagated into the emitter (an ffmpeg stdout handler must not die because a consumer threw).
 */
export class EnhancedEventEmitter<E extends EventMap> extends EventEmitter {
  constructor(private readonly eventLogger: Logger) {
    super();
    this.setMaxListeners(Infinity);
  }

  override on<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    return super.on(event, listener as Listener<unknown[]>);
  }

  override once<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    return super.once(event, listener as Listener<unknown[]>);
  }

  override off<K extends keyof E & string>(event: K, listener: Listener<E[K]>): this {
    return super.off(event, listener as Listener<unknown[]>);
  }

  /** Emits; a listener that throws is logged and the remaining listeners still run. */
  safeEmit<K extends keyof E & string>(event: K, ...args: E[K]): boolean {
    const listeners = this.rawListeners(event) as Listener<E[K]>[];
    for (const listener of listeners) {
      try {
        listener.apply(this, args);
      } catch (error) {
        this.eventLogger.error({ err: error, event }, 'event listener threw');
      }
    }
    // once-listeners are wrapped; rawListeners gives the wrapper, which removes itself when called.
    return listeners.length > 0;
  }
}
