import { describe, expect, it } from 'vitest';
import { GroupWriter } from '../src/index';

/** A write that finishes only when the test says so, recording each batch. */
function gatedWrites() {
  const batches: number[][] = [];
  const gates: { open(): void; fail(e: Error): void }[] = [];
  const write = (items: number[]): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      batches.push(items);
      gates.push({ open: resolve, fail: reject });
    });
  return { batches, gates, write };
}

const until = async (cond: () => boolean): Promise<void> => {
  while (!cond()) await new Promise((r) => setImmediate(r));
};

describe('GroupWriter', () => {
  it('writes the first item at once, and the items that arrive during a write together in the next', async () => {
    const w = gatedWrites();
    const g = new GroupWriter(w.write);
    const first = g.add(1);
    await until(() => w.batches.length === 1);
    expect(w.batches).toEqual([[1]]);
    const later = [g.add(2), g.add(3), g.add(4)];
    w.gates[0]?.open();
    await first;
    await until(() => w.batches.length === 2);
    expect(w.batches[1]).toEqual([2, 3, 4]);
    w.gates[1]?.open();
    await Promise.all(later);
  });

  it('lingers for company, but writes a full batch and a flush at once', async () => {
    const w = gatedWrites();
    const g = new GroupWriter(w.write, { lingerMs: 600_000, maxBatch: 3 });
    const a = [g.add(1), g.add(2)];
    await new Promise((r) => setImmediate(r));
    expect(w.batches).toEqual([]); // still lingering (for ten minutes)
    a.push(g.add(3)); // full: written now
    await until(() => w.batches.length === 1);
    expect(w.batches[0]).toEqual([1, 2, 3]);
    w.gates[0]?.open();
    await Promise.all(a);
    const b = g.add(4);
    const flushed = g.flush();
    await until(() => w.batches.length === 2);
    expect(w.batches[1]).toEqual([4]);
    w.gates[1]?.open();
    await Promise.all([b, flushed]);
  });

  it('rejects every item of a failed write and goes on with the next batch', async () => {
    const w = gatedWrites();
    const g = new GroupWriter(w.write);
    const first = g.add(1);
    await until(() => w.batches.length === 1);
    const failing = [g.add(2), g.add(3)];
    w.gates[0]?.open();
    await first;
    await until(() => w.batches.length === 2);
    w.gates[1]?.fail(new Error('disk full'));
    for (const p of failing) await expect(p).rejects.toThrow('disk full');
    const next = g.add(4);
    await until(() => w.batches.length === 3);
    expect(w.batches[2]).toEqual([4]);
    w.gates[2]?.open();
    await next;
  });

  it('refuses bad options', () => {
    expect(() => new GroupWriter(async () => undefined, { maxBatch: 0 })).toThrow(RangeError);
    expect(() => new GroupWriter(async () => undefined, { lingerMs: -1 })).toThrow(RangeError);
  });
});
