import { describe, expect, it } from 'vitest';
import { carriedObjects, overlapShare, withCarriedObjects } from '../../src/matching/index';
import { T0, colors, track } from './fixtures';

describe('carriedObjects', () => {
  const person = track('cam:1', { box: { x: 100, y: 100, w: 100, h: 200 } });

  it('gives a person the bags whose box lies at least 30 % inside theirs on the same frame', () => {
    const tracks = [
      person,
      // fully inside, red
      track('cam:2', { label: 'backpack', box: { x: 120, y: 150, w: 40, h: 40 }, attributes: colors({ any: [['red', 0.8], ['black', 0.2]] }) }),
      // half inside
      track('cam:3', { label: 'suitcase', box: { x: 180, y: 250, w: 40, h: 40 } }),
      // 25 % inside: too little
      track('cam:4', { label: 'handbag', box: { x: 190, y: 250, w: 40, h: 40 } }),
      // inside but last seen a frame earlier (coasting, stale box)
      track('cam:5', { label: 'umbrella', box: { x: 120, y: 120, w: 20, h: 20 }, lastSeen: T0 - 500 }),
      // inside but not a carried class
      track('cam:6', { label: 'dog', box: { x: 120, y: 120, w: 20, h: 20 } }),
    ];
    const byCarrier = carriedObjects(tracks);
    expect([...byCarrier.keys()]).toEqual(['cam:1']);
    expect(byCarrier.get('cam:1')).toEqual([
      { trackId: 'cam:2', label: 'backpack', overlap: 1, colors: ['red', 'black'] },
      { trackId: 'cam:3', label: 'suitcase', overlap: 0.5, colors: [] },
    ]);
  });

  it('skips lost tracks and non-carriers, and honours its options', () => {
    const bag = track('cam:2', { label: 'handbag', box: { x: 120, y: 150, w: 40, h: 40 } });
    expect(carriedObjects([{ ...person, state: 'lost' }, bag]).size).toBe(0);
    expect(carriedObjects([{ ...person, label: 'car' }, bag]).size).toBe(0);
    expect(carriedObjects([{ ...person, label: 'bicycle' }, bag], { carriers: ['bicycle'] }).get('cam:1')).toHaveLength(1);
    expect(carriedObjects([person, bag], { objects: ['backpack'] }).size).toBe(0);
    expect(carriedObjects([person, { ...bag, box: { x: 180, y: 150, w: 40, h: 40 } }], { minOverlap: 0.6 }).size).toBe(0);
  });

  it('fills carrying and carried for the matcher', () => {
    const tracks = withCarriedObjects([
      person,
      track('cam:2', { label: 'backpack', box: { x: 120, y: 150, w: 40, h: 40 } }),
      track('cam:3', { label: 'backpack', box: { x: 110, y: 150, w: 40, h: 40 } }),
    ]);
    expect(tracks[0]!.carrying).toEqual(['backpack']);
    expect(tracks[0]!.carried).toHaveLength(2);
    expect(tracks[1]!.carrying).toEqual([]);
  });

  it('measures the share of the object inside the carrier', () => {
    expect(overlapShare({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 })).toBe(0.5);
    expect(overlapShare({ x: 0, y: 0, w: 10, h: 10 }, { x: 20, y: 0, w: 10, h: 10 })).toBe(0);
    expect(overlapShare({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 0, h: 10 })).toBe(0);
  });
});
