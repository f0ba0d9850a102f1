import { describe, expect, it } from 'vitest';
import { footPoint, pointInPolygon, zonesAt } from '../../src/tracking/index';

describe('zones', () => {
  const square: [number, number][] = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]];
  // An L: the top-right quarter of the unit square is missing.
  const ell: [number, number][] = [[0, 0], [0.5, 0], [0.5, 0.5], [1, 0.5], [1, 1], [0, 1]];

  it('places points inside and outside a convex polygon', () => {
    expect(pointInPolygon({ x: 0.4, y: 0.4 }, square)).toBe(true);
    expect(pointInPolygon({ x: 0.1, y: 0.4 }, square)).toBe(false);
    expect(pointInPolygon({ x: 0.4, y: 0.7 }, square)).toBe(false);
  });

  it('handles a concave polygon', () => {
    expect(pointInPolygon({ x: 0.25, y: 0.25 }, ell)).toBe(true);
    expect(pointInPolygon({ x: 0.75, y: 0.25 }, ell)).toBe(false);
    expect(pointInPolygon({ x: 0.75, y: 0.75 }, ell)).toBe(true);
  });

  it('uses the bottom-centre of a box as where it stands, and names the zones holding it', () => {
    const box = { x: 300, y: 100, w: 40, h: 100 };
    expect(footPoint(box)).toEqual({ x: 320, y: 200 });
    const zones = [
      { name: 'door', polygon: square },
      { name: 'yard', polygon: ell },
    ];
    // (320, 200) in a 800×500 frame is (0.4, 0.4): inside both.
    expect(zonesAt(footPoint(box), zones, 800, 500)).toEqual(['door', 'yard']);
    // Head inside the door zone but feet below it: only the yard.
    expect(zonesAt(footPoint({ x: 300, y: 200, w: 40, h: 150 }), zones, 800, 500)).toEqual(['yard']);
  });
});
