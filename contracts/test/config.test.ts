import { describe, expect, it } from 'vitest';
import { cameraSchema, formatIssues, parseSource, streamsConfigSchema } from '../src/index';

describe('parseSource', () => {
  it.each([
    ['rtsp://user:pw@10.0.0.5:554/stream1', { kind: 'rtsp', url: 'rtsp://user:pw@10.0.0.5:554/stream1' }],
    ['rtsps://cam.example/live', { kind: 'rtsp', url: 'rtsps://cam.example/live' }],
    ['testsrc:testsrc2', { kind: 'testsrc', pattern: 'testsrc2' }],
    ['/srv/video/lobby.mp4', { kind: 'file', path: '/srv/video/lobby.mp4' }],
    ['file:///srv/video/a%20b.mp4', { kind: 'file', path: '/srv/video/a b.mp4' }],
    ['webrtc', { kind: 'webrtc' }],
  ])('accepts %s', (source, expected) => {
    expect(parseSource(source)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', /empty/],
    ['webrtc://x', /unsupported source scheme/],
    ['http://cam/x.mjpg', /unsupported source scheme/],
    ['testsrc:nosuch', /unknown test pattern/],
    ['rtsp://', /not a valid RTSP URL|no host/],
    ['relative/file.mp4', /is not a source/],
    ['file://relative', /absolute path/],
    ['rtsp://cam/\nx', /control characters/],
    ['rtsp://h/' + 'a'.repeat(3000), /longer than 2048/],
  ])('rejects %j with a reason', (source, reason) => {
    const r = parseSource(source);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

describe('streams config schema', () => {
  it('fills defaults for a minimal camera', () => {
    const c = cameraSchema.parse({ id: 'cam-1', name: 'Cam', source: 'testsrc:testsrc' });
    expect(c).toMatchObject({ fps: 10, analysisFps: 2, width: 640, location: '', zones: [], enabled: true, privacy: { faces: true, plates: true, heads: true, method: 'pixelate' } });
  });

  it('names every bad field of a broken config, not just the first', () => {
    const r = streamsConfigSchema.safeParse({
      cameras: [
        { id: 'ok', name: 'Ok', source: 'testsrc:testsrc' },
        { id: 'Has Space', name: '', source: 'ftp://nope', fps: 0, width: 10, zones: [{ name: 'z', polygon: [[0, 0], [2, 0]] }], privacy: { method: 'smudge' } },
        { id: 'ok', name: 'Dup', source: 'testsrc:testsrc' },
      ],
      bogus: true,
    });
    expect(r.success).toBe(false);
    const lines = formatIssues(r.error!.issues);
    const text = lines.join('\n');
    for (const path of ['cameras.1.id', 'cameras.1.name', 'cameras.1.source', 'cameras.1.fps', 'cameras.1.width', 'cameras.1.zones.0.polygon', 'cameras.1.privacy.method']) {
      expect(text).toContain(`${path}:`);
    }
    expect(text).toMatch(/bogus/);
    // The duplicate id is found in the same pass only once the per-camera fields are valid.
    const dup = streamsConfigSchema.safeParse({ cameras: [{ id: 'a', name: 'A', source: 'testsrc:testsrc' }, { id: 'a', name: 'B', source: 'testsrc:testsrc' }] });
    expect(formatIssues(dup.error!.issues)).toEqual(['cameras.1.id: duplicate camera id "a" (also cameras[0])']);
  });
});

describe('schedules and lines', () => {
  const cam = { id: 'dock', name: 'Dock', source: 'testsrc:testsrc2' };
  const office = { name: 'office', days: [1, 2, 3, 4, 5], from: '08:00', to: '18:00' };
  const night = { name: 'night-shift', days: [0, 1, 2, 3, 4, 5, 6], from: '22:00', to: '06:00' };

  it('copies the top-level schedules a camera or its zones name onto the camera (and only those)', () => {
    const r = streamsConfigSchema.safeParse({
      schedules: [office, night, { name: 'unused', days: [0], from: '10:00', to: '11:00' }],
      cameras: [{ ...cam, schedule: 'office', zones: [{ name: 'yard', polygon: [[0, 0], [1, 0], [1, 1]], schedule: 'night-shift' }], lines: [{ name: 'gate', from: [0.5, 0], to: [0.5, 1] }] }],
    });
    expect(r.success).toBe(true);
    if (!r.success) return;
    expect(r.data.cameras[0]!.schedules.map((s) => s.name).sort()).toEqual(['night-shift', 'office']);
    expect(r.data.cameras[0]!.lines).toEqual([{ name: 'gate', from: [0.5, 0], to: [0.5, 1] }]);
  });

  it('names each reference to a schedule that does not exist, and each bad line', () => {
    const r = streamsConfigSchema.safeParse({
      schedules: [office],
      cameras: [{ ...cam, schedule: 'weekend', zones: [{ name: 'yard', polygon: [[0, 0], [1, 0], [1, 1]], schedule: 'nope' }], lines: [{ name: 'dot', from: [0.2, 0.2], to: [0.2, 0.2] }] }],
    });
    expect(r.success).toBe(false);
    if (!r.success)
      expect(formatIssues(r.error.issues)).toEqual(
        expect.arrayContaining(['cameras.0.lines.0: a line needs two different points']),
      );
    const refs = streamsConfigSchema.safeParse({ schedules: [office], cameras: [{ ...cam, schedule: 'weekend', zones: [{ name: 'yard', polygon: [[0, 0], [1, 0], [1, 1]], schedule: 'nope' }] }] });
    expect(refs.success).toBe(false);
    if (!refs.success) expect(formatIssues(refs.error.issues)).toEqual(['cameras.0.schedule: no schedule "weekend" (define it in schedules)', 'cameras.0.zones.0.schedule: no schedule "nope" (define it in schedules)']);
  });
});
