import { describe, expect, it } from 'vitest';
import type { DetectedObjectBox, RedactedFrameMeta } from '@chronotrace/contracts';
import { SceneCore, ownsCamera, partitionDurable, partitionOf, type RgbImage } from '../../src/index';

const W = 320;
const H = 240;
const T0 = 1_700_000_000_000;

function frame(seq: number, objects: DetectedObjectBox[], ran = true, camera = 'gate'): RedactedFrameMeta {
  return {
    camera,
    frameId: `${camera}:s:${seq}`,
    seq,
    capturedAt: T0 + seq * 500,
    width: W,
    height: H,
    redaction: {
      faces: [],
      plates: [],
      heads: [],
      objects,
      motion: { ran, changedRatio: ran ? 0.1 : 0, reason: ran ? 'motion' : 'still' },
      method: 'pixelate',
      models: [{ name: 'nanodet', version: 'test' }],
      ms: 10,
      redactedAt: T0 + seq * 500 + 100,
    },
  };
}

/** A grey frame with a person-shaped box: red jacket over blue trousers at x..x+40, y 60..220. */
function image(x: number): RgbImage {
  const data = new Uint8Array(W * H * 3).fill(128);
  const paint = (x0: number, y0: number, x1: number, y1: number, rgb: [number, number, number]): void => {
    for (let y = y0; y < y1; y++) for (let xx = x0; xx < x1; xx++) data.set(rgb, (y * W + xx) * 3);
  };
  paint(x, 60, x + 40, 150, [200, 20, 20]);
  paint(x, 150, x + 40, 220, [20, 40, 190]);
  return { width: W, height: H, data };
}

const person = (x: number): DetectedObjectBox => ({ x, y: 60, w: 40, h: 160, label: 'person', score: 0.9 });
const backpack = (x: number): DetectedObjectBox => ({ x: x + 5, y: 80, w: 20, h: 30, label: 'backpack', score: 0.8 });
const ZONE = { name: 'entrance', polygon: [[0, 0], [0.5, 0], [0.5, 1], [0, 1]] as [number, number][] };

describe('SceneCore', () => {
  it('confirms a track on its second frame with a session-unique id, names its upper and lower colours and its bag, and puts it in its zone', () => {
    const core = new SceneCore({ session: 'abc', zonesFor: () => [ZONE], tracker: { minHits: 2 } });
    const a = core.process(frame(1, [person(20), backpack(20)]), image(20));
    expect(a?.summary.tracks).toEqual([]);
    const b = core.process(frame(2, [person(24), backpack(24)]), image(24));
    expect(b?.summary.started).toEqual(['gate:abc:1', 'gate:abc:2']);
    const p = b!.summary.tracks.find((t) => t.label === 'person')!;
    expect(p.attributes?.upper?.dominant).toBe('red');
    expect(p.attributes?.lower?.dominant).toBe('blue');
    expect(p.carrying).toEqual(['backpack']);
    expect(p.zones).toEqual(['entrance']);
    expect(p.size).toBe('large');
    expect(b!.summary.attributesFresh).toBe(true);
    const c = core.process(frame(3, [person(28), backpack(28)]), image(28))!;
    expect(c.summary.tracks.find((t) => t.label === 'person')?.dwell.entrance).toBe(1000); // from its first (tentative) frame
  });

  it('carries colours over to frames whose pixels it was not given, and asks for pixels only when boxes moved', () => {
    const core = new SceneCore({ session: 's', zonesFor: () => [] });
    expect(core.wantsPixels(frame(1, []))).toBe(false);
    expect(core.wantsPixels(frame(1, [person(20)], false))).toBe(true); // never measured this camera
    core.process(frame(1, [person(20)]), image(20));
    core.process(frame(2, [person(22)]), image(22));
    expect(core.wantsPixels(frame(3, [person(22)], false))).toBe(false);
    expect(core.wantsPixels(frame(3, [person(22)], true))).toBe(true);
    const still = core.process(frame(3, [person(22)], false), null)!;
    expect(still.summary.attributesFresh).toBe(false);
    expect(still.summary.tracks[0]?.attributes?.upper?.dominant).toBe('red');
  });

  it('drops a frame that is not newer than the last one of its camera (a redelivery) and counts it', () => {
    const core = new SceneCore({ session: 's', zonesFor: () => [] });
    core.process(frame(2, [person(20)]), null);
    expect(core.process(frame(2, [person(20)]), null)).toBeNull();
    expect(core.process(frame(1, [person(20)]), null)).toBeNull();
    expect(core.toJSON().staleFrames).toBe(2);
    // Other cameras are independent.
    expect(core.process(frame(1, [person(20)], true, 'dock'), null)).not.toBeNull();
  });

  it('ends a track that left the view and reports it once', () => {
    const core = new SceneCore({ session: 's', zonesFor: () => [], tracker: { maxAgeMs: 1000 } });
    core.process(frame(1, [person(20)]), null);
    core.process(frame(2, [person(22)]), null);
    const ended: string[] = [];
    for (let i = 3; i < 8; i++) ended.push(...core.process(frame(i, []), null)!.summary.ended);
    expect(ended).toEqual(['gate:s:1']);
  });

  it('restarts a camera\'s tracker with a new id generation when its zones change', () => {
    let zones = [ZONE];
    const core = new SceneCore({ session: 's', zonesFor: () => zones });
    core.process(frame(1, [person(20)]), null);
    expect(core.process(frame(2, [person(22)]), null)!.summary.started).toEqual(['gate:s:1']);
    zones = [{ ...ZONE, name: 'lobby' }];
    core.process(frame(3, [person(24)]), null);
    const r = core.process(frame(4, [person(26)]), null)!;
    expect(r.summary.started).toEqual(['gate:s.1:1']);
    expect(r.summary.tracks[0]?.zones).toEqual(['lobby']);
  });

  it('forgets cameras that sent nothing for idleMs (wall clock, not frame time) and ends their tracks', () => {
    // An uploaded video: frames stamped an hour before they arrive are not "idle".
    const upload = new SceneCore({ session: 'u', zonesFor: () => [], idleMs: 10_000 });
    upload.process(frame(1, [person(20)]), null, T0 + 3_600_000);
    upload.process(frame(2, [person(22)]), null, T0 + 3_600_100);
    expect(upload.sweep(T0 + 3_605_000).ended).toEqual([]);
    const core = new SceneCore({ session: 's', zonesFor: () => [], idleMs: 10_000 });
    core.process(frame(1, [person(20)]), null, T0 + 500);
    core.process(frame(2, [person(22)]), null, T0 + 1_000);
    expect(core.sweep(T0 + 5_000).ended).toEqual([]);
    expect(core.sweep(T0 + 20_000).ended.map((t) => t.id)).toEqual(['gate:s:1']);
    expect(Object.keys(core.toJSON().cameras)).toEqual([]);
    // The camera comes back: a new generation, so its track ids do not repeat the forgotten ones.
    core.process(frame(50, [person(20)]), null);
    expect(core.process(frame(51, [person(22)]), null)!.summary.started).toEqual(['gate:s.1:1']);
  });
});

describe('camera partitions', () => {
  it('gives every camera to exactly one partition, stably', () => {
    const cams = Array.from({ length: 200 }, (_, i) => `cam-${i}`);
    const counts = [0, 0, 0];
    for (const c of cams) {
      const owners = [0, 1, 2].filter((i) => ownsCamera({ index: i, count: 3 }, c));
      expect(owners).toEqual([partitionOf(c, 3)]);
      counts[owners[0]!]!++;
    }
    for (const n of counts) expect(n).toBeGreaterThan(40);
    expect(partitionOf('gate', 7)).toBe(partitionOf('gate', 7));
    expect(ownsCamera({ index: 0, count: 1 }, 'anything')).toBe(true);
    expect(partitionDurable('scene', { index: 0, count: 1 })).toBe('scene');
    expect(partitionDurable('scene', { index: 1, count: 3 })).toBe('scene-p1of3');
  });
});
