import { describe, expect, it } from 'vitest';
import type { FrameMeta, PrivacySettings } from '@chronotrace/contracts';
import { PrivacyCore } from '../../src/privacy/privacy-core';
import { FixedBoxDetector, HangingDetector, ThrowingDetector } from './detector-doubles';
import { fixture } from './face-eval-set';

const SETTINGS: PrivacySettings = { faces: true, plates: true, heads: true, method: 'pixelate', margin: 0.15 };
const meta = (frameId = 'cam1:1:1'): FrameMeta => ({ camera: 'cam1', frameId, seq: 1, capturedAt: Date.now(), width: 512, height: 512 });

describe('PrivacyCore', () => {
  it('redacts what the detectors found and reports boxes, method, models and time', async () => {
    const face = new FixedBoxDetector('face', [{ x: 181, y: 71, w: 84, h: 104, score: 0.97, label: 'face' }]);
    const text = new FixedBoxDetector('text', [{ x: 10, y: 400, w: 120, h: 30, score: 0.8, label: 'text' }]);
    const core = new PrivacyCore({ face, text });
    const jpeg = await fixture('astronaut.jpg');
    const r = await core.process({ meta: meta(), jpeg }, SETTINGS);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.meta.redaction.faces).toEqual([{ x: 181, y: 71, w: 84, h: 104, score: 0.97, label: 'face' }]);
    expect(r.meta.redaction.plates).toHaveLength(1);
    expect(r.meta.redaction.models.map((m) => m.name)).toEqual(['fixed-face', 'fixed-text']);
    expect(r.meta.redaction.method).toBe('pixelate');
    expect(r.jpeg.equals(jpeg)).toBe(false);
    expect(core.toJSON()).toMatchObject({ frames: 1, redacted: 1, failures: 0, facesFound: 1, textRegionsFound: 1 });
    await core.close();
    expect(face.closed && text.closed).toBe(true);
  });

  it('skips a detector its setting turns off', async () => {
    const face = new FixedBoxDetector('face', []);
    const text = new FixedBoxDetector('text', []);
    const core = new PrivacyCore({ face, text });
    const r = await core.process({ meta: meta(), jpeg: await fixture('astronaut.jpg') }, { ...SETTINGS, plates: false });
    expect(r.ok).toBe(true);
    expect([face.calls, text.calls]).toEqual([1, 0]);
    if (r.ok) expect(r.meta.redaction.models.map((m) => m.name)).toEqual(['fixed-face']);
    await core.close();
  });

  it('fails closed when a detector throws: no frame comes back, the failure is counted', async () => {
    const core = new PrivacyCore({ face: new ThrowingDetector('face'), text: new FixedBoxDetector('text', []) });
    const r = await core.process({ meta: meta(), jpeg: await fixture('astronaut.jpg') }, SETTINGS);
    expect(r).toEqual({ ok: false, reason: 'face-detector', detail: 'model exploded' });
    expect(r).not.toHaveProperty('jpeg');
    expect(core.toJSON()).toMatchObject({ frames: 1, redacted: 0, failures: 1, failuresByReason: { 'face-detector': 1 } });
    await core.close();
  });

  it('fails closed when a detector hangs past the deadline', async () => {
    const core = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new HangingDetector('text'), timeoutMs: 150 });
    const t0 = Date.now();
    const r = await core.process({ meta: meta(), jpeg: await fixture('astronaut.jpg') }, SETTINGS);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1000);
    await core.close();
  });

  it('fails closed on a body that is not an image, and after close', async () => {
    const core = new PrivacyCore({ face: new FixedBoxDetector('face', []), text: new FixedBoxDetector('text', []) });
    const bad = await core.process({ meta: meta(), jpeg: new TextEncoder().encode('not a jpeg') }, SETTINGS);
    expect(bad).toMatchObject({ ok: false, reason: 'invalid-frame' });
    await core.close();
    await core.close();
    const closed = await core.process({ meta: meta(), jpeg: await fixture('astronaut.jpg') }, SETTINGS);
    expect(closed).toMatchObject({ ok: false, reason: 'closed' });
  });

  it('keeps p50/p99 per model in its stats', async () => {
    const core = new PrivacyCore({ face: new FixedBoxDetector('face', [], 5), text: new FixedBoxDetector('text', [], 1) });
    const jpeg = await fixture('street.jpg');
    for (let i = 0; i < 3; i++) await core.process({ meta: meta(`cam1:1:${i}`), jpeg }, SETTINGS);
    const s = core.toJSON();
    expect(s.ms.face.count).toBe(3);
    expect(s.ms.face.p50).toBeGreaterThanOrEqual(5);
    expect(s.ms.total.p99).toBeGreaterThanOrEqual(s.ms.total.p50 ?? 0);
    await core.close();
  });
});
