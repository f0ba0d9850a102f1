import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, openStore, type Store } from '@chronotrace/platform';
import { CameraOwnership, rendezvousOwner } from '../../src/privacy/camera-ownership';

const log = createLogger('test');
log.level = 'silent';

describe('rendezvousOwner', () => {
  it('agrees whatever the member order, spreads cameras, and moves only the leaving member’s cameras', () => {
    const cams = Array.from({ length: 60 }, (_, i) => `cam-${i}`);
    const members = ['a', 'b', 'c'];
    const owners = cams.map((c) => rendezvousOwner(c, members));
    expect(cams.map((c) => rendezvousOwner(c, ['c', 'a', 'b']))).toEqual(owners);
    for (const m of members) expect(owners.filter((o) => o === m).length).toBeGreaterThan(10);
    const without = cams.map((c) => rendezvousOwner(c, ['a', 'c']));
    cams.forEach((_, i) => {
      if (owners[i] !== 'b') expect(without[i]).toBe(owners[i]);
      else expect(['a', 'c']).toContain(without[i]);
    });
    expect(rendezvousOwner('x', [])).toBeUndefined();
  });
});

describe('CameraOwnership on a real store', () => {
  let store: Store | undefined;
  const running: CameraOwnership[] = [];
  afterEach(async () => {
    for (const o of running.splice(0)) await o.close();
    await store?.close();
  });

  async function until(what: string, cond: () => boolean): Promise<void> {
    const end = Date.now() + 15_000;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('splits the cameras between two processes, never owning one twice, and takes over a dead one’s after the lease lapses', async () => {
    store = await openStore({ kind: 'pglite' });
    const cameras = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
    /** Who consumes each camera now, as the stages would (a camera consumed twice at once throws). */
    const consuming = new Map<string, string>();
    const violations: string[] = [];
    const make = (instance: string): CameraOwnership => {
      const own = new CameraOwnership({
        leases: store!.leases,
        instance,
        cameras: () => cameras,
        ttlMs: 600,
        tickMs: 100,
        log,
        onChange: async (owned) => {
          for (const [c, who] of [...consuming]) if (who === instance && !owned.has(c)) consuming.delete(c);
          for (const c of owned) {
            const other = consuming.get(c);
            if (other && other !== instance) violations.push(`${c}: ${instance} while ${other}`);
            consuming.set(c, instance);
          }
        },
      });
      running.push(own);
      return own;
    };
    const a = make('a');
    await a.start();
    expect(a.cameras()).toEqual(cameras);
    const b = make('b');
    await b.start();
    // b joins: a lets go of b's share, b takes it on a later tick.
    const share = cameras.filter((c) => rendezvousOwner(c, ['a', 'b']) === 'b');
    expect(share.length).toBeGreaterThan(0);
    await until('b to own its share', () => b.cameras().join() === share.join());
    await until('a to own the rest', () => a.cameras().length + b.cameras().length === cameras.length);
    expect(violations).toEqual([]);

    // b dies without a word (no close, no more renewals): its leases lapse and a takes everything.
    clearInterval((b as unknown as { timer: NodeJS.Timeout }).timer);
    running.splice(running.indexOf(b), 1);
    for (const c of share) consuming.delete(c); // b's process is gone, and so are its consumers
    await until('a to take over b’s cameras', () => a.cameras().length === cameras.length);
    expect(violations).toEqual([]);

    // A clean close hands over at once (no waiting for expiry).
    const c = make('c');
    await c.start();
    await until('c to own its share', () => c.cameras().length > 0);
    await c.close();
    running.splice(running.indexOf(c), 1);
    await until('a to own everything again', () => a.cameras().length === cameras.length);
    expect(violations).toEqual([]);
  });
});
