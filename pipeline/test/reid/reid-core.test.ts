import { describe, expect, it } from 'vitest';
import type { DetectedObjectBox, RedactedFrameMeta, TrackEvent } from '@chronotrace/contracts';
import { ReidCore, ReidEventError, SceneCore, type RgbImage } from '../../src/index';

const W = 320;
const H = 240;
const T0 = 1_700_000_000_000;
type RGB = [number, number, number];

function frame(camera: string, seq: number, objects: DetectedObjectBox[], at = T0 + seq * 500): RedactedFrameMeta {
  return {
    camera,
    frameId: `${camera}:s:${seq}`,
    seq,
    capturedAt: at,
    width: W,
    height: H,
    redaction: { faces: [], plates: [], heads: [], objects, motion: { ran: true, changedRatio: 0.1, reason: 'motion' }, method: 'pixelate', models: [], ms: 1, redactedAt: at },
  };
}

/** Grey frame with people: each a head, `top` from 20 % to 50 % of its box and `bottom` below. */
function image(people: { x: number; top: RGB; bottom: RGB }[]): RgbImage {
  const data = new Uint8Array(W * H * 3).fill(128);
  for (const p of people) {
    for (let y = 40; y < 200; y++) {
      const f = (y - 40) / 160;
      const c: RGB = f < 0.2 ? [200, 170, 150] : f < 0.5 ? p.top : p.bottom;
      for (let x = p.x; x < p.x + 40; x++) data.set(c, (y * W + x) * 3);
    }
  }
  return { width: W, height: H, data };
}

const box = (x: number): DetectedObjectBox => ({ x, y: 40, w: 40, h: 160, label: 'person', score: 0.9 });
const RED: RGB = [200, 30, 30];
const BLUE: RGB = [30, 30, 170];
const GREEN: RGB = [30, 160, 40];

/** A person walking right on `camera` for `n` frames from `seq`; the events the scene core reports. */
function walk(core: SceneCore, camera: string, from: number, n: number, top: RGB, bottom: RGB, at: (seq: number) => number): TrackEvent[] {
  const out: TrackEvent[] = [];
  for (let i = 0; i < n; i++) {
    const x = 20 + i * 8;
    out.push(...core.process(frame(camera, from + i, [box(x)], at(from + i)), image([{ x, top, bottom }]))!.trackEvents);
  }
  // Gone: the tracker ends the track after its misses.
  for (let i = 0; i < 12; i++) out.push(...core.process(frame(camera, from + n + i, [], at(from + n + i)), null)!.trackEvents);
  return out;
}

describe('re-ID description in the scene core', () => {
  it('announces a person after three clean views and reports it when it ends; cut-off, small and occluded views are not sampled', () => {
    const core = new SceneCore({ session: 's', zonesFor: () => [], tracker: { minHits: 2, maxAgeMs: 2000 } });
    const events = walk(core, 'hall', 1, 8, RED, BLUE, (s) => T0 + s * 500);
    expect(events.map((e) => e.event)).toEqual(['appeared', 'ended']);
    const [appeared, ended] = events as [TrackEvent, TrackEvent];
    expect(appeared).toMatchObject({ trackId: 'hall:s:1', camera: 'hall', label: 'person', frameWidth: W, frameHeight: H });
    expect(appeared.appearance.samples).toBe(3);
    // How it left: its last four views; how it arrived: its first three.
    expect(ended.appearance.samples).toBe(4);
    expect(ended.entry?.samples).toBe(3);
    expect(ended.lastSeen).toBe(T0 + 8 * 500);
    // Red on top, blue below: the upper histogram peaks at red's bin (hue 0, saturated), the lower at blue's.
    expect(ended.appearance.upper.indexOf(Math.max(...ended.appearance.upper))).toBe(1);
    expect(ended.appearance.lower.indexOf(Math.max(...ended.appearance.lower))).toBe(11);

    // Two people overlapping most of the time, one cut by the picture's edge: nobody is described.
    const other = new SceneCore({ session: 's', zonesFor: () => [], tracker: { minHits: 2, maxAgeMs: 2000 } });
    const seen: TrackEvent[] = [];
    for (let i = 1; i <= 8; i++) {
      const x = 100 + i * 4;
      seen.push(...other.process(frame('yard', i, [box(x), box(x + 12), { ...box(0), x: 0 }]), image([{ x, top: RED, bottom: BLUE }, { x: x + 12, top: GREEN, bottom: BLUE }]))!.trackEvents);
    }
    expect(seen).toEqual([]);
  });
});

describe('ReidCore', () => {
  const at = (s: number): number => T0 + s * 500;

  it('links a person leaving one camera to the same person on another (live, when they appear), not a stranger, and continues the identity', () => {
    const scene = new SceneCore({ session: 's', zonesFor: () => [], tracker: { minHits: 2, maxAgeMs: 2000 } });
    const core = new ReidCore();
    const feed = (events: TrackEvent[]) => events.map((e) => core.handle(e, e.lastSeen)).filter((l) => l !== null);
    expect(feed(walk(scene, 'hall', 1, 8, RED, BLUE, at))).toEqual([]);
    // A stranger on the gate camera: other clothes, no link.
    expect(feed(walk(scene, 'gate', 30, 8, GREEN, GREEN, at))).toEqual([]);
    // The red-over-blue person reaches the gate: linked when announced (a live handoff).
    const events = walk(scene, 'gate', 60, 8, RED, BLUE, at);
    const links = events.map((e) => ({ e, l: core.handle(e, e.lastSeen) }));
    expect(links[0]!.e.event).toBe('appeared');
    expect(links[0]!.l).toMatchObject({ identity: 'hall:s:1', from: 'hall:s:1', to: 'gate:s:2', fromCamera: 'hall', toCamera: 'gate' });
    expect(links[0]!.l!.appearance).toBeGreaterThan(0.85);
    expect(links[0]!.l!.transitSeconds).toBeCloseTo((at(60) - at(8)) / 1000, 0);
    // Its end does not link it again; then it walks on to the yard: the same identity.
    expect(links[1]!.l).toBeNull();
    const yard = feed(walk(scene, 'yard', 90, 8, RED, BLUE, at));
    expect(yard).toEqual([expect.objectContaining({ identity: 'hall:s:1', from: 'gate:s:2', fromCamera: 'gate', toCamera: 'yard' })]);
    expect(core.toJSON()).toMatchObject({ links: 2, invalid: 0 });
  });

  it('refuses a malformed event with a clear error and changes nothing; a restart seeded with stored links keeps identities', () => {
    const core = new ReidCore();
    const good: TrackEvent = { event: 'ended', trackId: 'a:1', camera: 'a', label: 'person', firstSeen: T0, lastSeen: T0 + 5000, box: { x: 0, y: 0, w: 10, h: 30 }, frameWidth: 100, frameHeight: 100, appearance: { upper: Array(19).fill(1 / 19), lower: Array(19).fill(1 / 19), aspect: 3, samples: 4 } };
    expect(() => core.handle({ ...good, appearance: { ...good.appearance, upper: [1, 2] } })).toThrow(ReidEventError);
    expect(() => core.handle({ ...good, appearance: { ...good.appearance, upper: [1, 2] } })).toThrow(/appearance upper must be 19 non-negative numbers/);
    expect(() => core.handle({ ...good, lastSeen: T0 - 1 })).toThrow(/lastSeen not before firstSeen/);
    expect(() => core.handle({ ...good, event: 'moved' as 'ended' })).toThrow(/event must be/);
    expect(core.toJSON()).toMatchObject({ events: 4, invalid: 4, links: 0 });

    const restarted = new ReidCore();
    const stored = Array.from({ length: 8 }, (_, i) => ({ identity: `x:${i + 1}`, from: `x:${i + 1}`, to: `a:${i + 1}`, fromCamera: 'x', toCamera: 'a', transitSeconds: 10 + (i % 3) * 0.5, appearance: 0.9, transit: 1, confidence: 0.9, linkedAt: T0 }));
    restarted.seed(stored);
    // Eight stored transits of about 10 s: the pair's transit is known again without relearning.
    expect(restarted.topology()).toEqual([{ from: 'x', to: 'a', transits: 8, typicalSeconds: 10.5 }]);
    // a:1 already continues x:1: its events do not link it again; a successor of it joins identity x:1.
    expect(restarted.handle(good, T0)).toBeNull();
    const next = restarted.handle({ ...good, event: 'appeared', trackId: 'b:1', camera: 'b', firstSeen: T0 + 20_000, lastSeen: T0 + 21_000 }, T0);
    expect(next).toMatchObject({ identity: 'x:1', from: 'a:1', to: 'b:1' });
  });
});
