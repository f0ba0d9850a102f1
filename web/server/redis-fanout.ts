import { Redis } from 'ioredis';
import { createAdapter } from '@socket.io/redis-adapter';
import type { ComponentState } from '@chronotrace/contracts';
import type { Logger } from '@chronotrace/platform';

/**
 * Socket.io fan-out across web replicas through Redis pub/sub (distributed mode): an event one
 * replica emits to all browsers (a camera added, say) reaches the browsers of every replica.
 * Live frames do not go through it: each replica consumes them from the bus and emits locally.
 */
export class RedisFanout {
  private closed = false;

  private constructor(
    private readonly pub: Redis,
    private readonly sub: Redis,
    readonly adapter: ReturnType<typeof createAdapter>,
  ) {}

  static async connect(url: string, log: Logger): Promise<RedisFanout> {
    const opts = { lazyConnect: true, maxRetriesPerRequest: 3, connectTimeout: 5000 };
    const pub = new Redis(url, opts);
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on('error', (e: Error) => log.warn({ err: e }, 'redis connection error'));
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (e) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cannot connect to Redis at ${url}: ${(e as Error).message}`, { cause: e });
    }
    return new RedisFanout(pub, sub, createAdapter(pub, sub, { key: 'chronotrace' }));
  }

  health(): { state: ComponentState; detail: string } {
    const ok = this.pub.status === 'ready' && this.sub.status === 'ready';
    return { state: ok ? 'ok' : 'degraded', detail: `redis ${this.pub.status}` };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
  }
}
