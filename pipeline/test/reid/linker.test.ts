import { describe, expect, it } from 'vitest';
import { HIST_BINS, ReidLinker, appearanceOf, binOf, merge, similarity, type ReidTrack } from '../../src/index';

const W = 200;
const H = 200;
type RGB = [number, number, number];

/** A frame with one person-shaped box: grey background, a head, `top` on the upper body, `bottom` on the legs. */
function person(top: RGB, bottom: RGB, shade = 0): { rgb: Uint8Array; box: { x: number; y: number; w: number; h: number } } {
  const rgb = new Uint8Array(W * H * 3).fill(120);
  const box = { x: 80, y: 20, w: 40, h: 150 };
  for (let y = box.y; y < box.y + box.h; y++) {
    for (let x = box.x; x < box.x + box.w; x++) {
      const f = (y - box.y) / box.h;
      const c: RGB = f < 0.2 ? [200, 170, 150] : f < 0.5 ? top : bottom;
      rgb.set(c.map((v) => Math.max(0, Math.min(255, v + shade))), (y * W + x) * 3);
    }
  }
  return { rgb, box };
}

const CLOTHES: [RGB, RGB][] = [
  [[200, 30, 30], [30, 30, 160]], [[30, 160, 40], [40, 40, 40]], [[230, 220, 40], [30, 30, 160]], [[120, 40, 160], [200, 200, 200]],
  [[240, 130, 20], [40, 40, 40]], [[30, 30, 160], [200, 30, 30]], [[230, 230, 230], [30, 160, 40]], [[20, 20, 20], [230, 220, 40]],
  [[200, 60, 140], [120, 80, 40]], [[40, 170, 170], [20, 20, 20]], [[120, 80, 40], [230, 230, 230]], [[200, 30, 30], [230, 220, 40]],
];

describe('appearance', () => {
  it('bins hue, saturation and greys; the same clothes under other light are alike, other clothes are not', () => {
    expect(binOf(255, 0, 0)).toBe(1);
    expect(binOf(128, 128, 128)).toBe(17);
    expect(binOf(10, 10, 10)).toBe(16);
    const a = person(CLOTHES[0]![0], CLOTHES[0]![1]);
    const b = person(CLOTHES[0]![0], CLOTHES[0]![1], -25);
    const c = person(CLOTHES[5]![0], CLOTHES[5]![1]);
    const A = appearanceOf(a.rgb, W, H, a.box);
    expect(A.upper).toHaveLength(HIST_BINS);
    expect(A.upper.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5);
    expect(similarity(A, appearanceOf(b.rgb, W, H, b.box))).toBeGreaterThan(0.9);
    // Red over blue vs blue over red: the same colours, swapped between body parts.
    expect(similarity(A, appearanceOf(c.rgb, W, H, c.box))).toBeLessThan(0.3);
    expect(merge(A, A).samples).toBe(2);
  });
});

describe('ReidLinker', () => {
  /** People leave camera A and appear on B about 20 s later; some are seen on B only; two dress alike and leave A together. */
  function scenario(): { tracks: { kind: 'end' | 'start'; t: ReidTrack; at: number }[]; truth: Map<string, string> } {
    const tracks: { kind: 'end' | 'start'; t: ReidTrack; at: number }[] = [];
    const truth = new Map<string, string>();
    const T0 = 1_800_000_000_000;
    const look = (i: number, shade = 0) => {
      const p = person(CLOTHES[i % CLOTHES.length]![0], CLOTHES[i % CLOTHES.length]![1], shade);
      return appearanceOf(p.rgb, W, H, p.box);
    };
    for (let i = 0; i < 12; i++) {
      const leave = T0 + i * 45_000;
      const transit = 17_000 + ((i * 3) % 7) * 1_000;
      tracks.push({ kind: 'end', at: leave, t: { trackId: `A:${i}`, camera: 'A', start: leave - 20_000, end: leave, appearance: look(i) } });
      tracks.push({ kind: 'start', at: leave + transit, t: { trackId: `B:${i}`, camera: 'B', start: leave + transit, end: leave + transit + 15_000, appearance: look(i, -20) } });
      truth.set(`B:${i}`, `A:${i}`);
    }
    // Strangers on B only (other clothes than anyone who left A recently).
    for (let k = 0; k < 4; k++) {
      const at = T0 + 700_000 + k * 30_000;
      const p = person([90, 200, 255], [255, 120, 200]);
      tracks.push({ kind: 'start', at, t: { trackId: `B:s${k}`, camera: 'B', start: at, end: at + 10_000, appearance: appearanceOf(p.rgb, W, H, p.box) } });
    }
    // Twins: the same clothes, leaving A a second apart, both reaching B ~20 s later: which is which cannot be told.
    const tw = T0 + 900_000;
    for (const [j, d] of [[0, 0], [1, 1000]] as const) {
      tracks.push({ kind: 'end', at: tw + d, t: { trackId: `A:t${j}`, camera: 'A', start: tw - 20_000, end: tw + d, appearance: look(3) } });
      tracks.push({ kind: 'start', at: tw + d + 20_000, t: { trackId: `B:t${j}`, camera: 'B', start: tw + d + 20_000, end: tw + d + 30_000, appearance: look(3, -10) } });
      truth.set(`B:t${j}`, `A:t${j}`);
    }
    tracks.sort((a, b) => a.at - b.at);
    return { tracks, truth };
  }

  it('links people across cameras with precision ≥ 0.9 and recall ≥ 0.6 against the script, learns the transit, and leaves ambiguous twins unlinked', () => {
    const linker = new ReidLinker();
    const { tracks, truth } = scenario();
    for (const e of tracks) {
      if (e.kind === 'end') linker.ended(e.t);
      else linker.started(e.t);
    }
    const links = linker.links;
    const correct = links.filter((l) => truth.get(l.to) === l.from).length;
    const precision = correct / Math.max(1, links.length);
    const recall = correct / truth.size;
    expect(precision).toBeGreaterThanOrEqual(0.9);
    expect(recall).toBeGreaterThanOrEqual(0.6);
    // No stranger is linked to anyone.
    expect(links.filter((l) => l.to.startsWith('B:s'))).toEqual([]);
    // The first twin to arrive has two candidates alike in every way: it stays unlinked.
    expect(links.find((l) => l.to === 'B:t0')).toBeUndefined();
    const topo = linker.topology();
    expect(topo).toEqual([expect.objectContaining({ from: 'A', to: 'B' })]);
    expect(topo[0]!.typicalSeconds).toBeGreaterThanOrEqual(15);
    expect(topo[0]!.typicalSeconds).toBeLessThanOrEqual(25);
    // An identity is its chain's first track.
    const l = links.find((x) => x.to === 'B:4')!;
    expect(linker.identityOf(l.to)).toBe('A:4');
    expect(l.confidence).toBeGreaterThan(0.55);
  });
});
