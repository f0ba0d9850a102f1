import { describe, expect, it } from 'vitest';
import { ActivityJudge, type ActivitySample } from '../src/activity-judge';

const base: ActivitySample = { at: 0, camerasEnabled: 2, camerasLive: 2, ingestPublished: 0, privacyProcessed: 0, privacyFailures: 0, analyticsProcessed: 0, wallOut: 0, wallClients: 1 };

/** Feeds a sample every 2 s for 20 s, each advancing the counters by `step`. */
function run(step: Partial<Record<'ingestPublished' | 'privacyProcessed' | 'privacyFailures' | 'analyticsProcessed' | 'wallOut', number>>, over: Partial<ActivitySample> = {}): ActivityJudge {
  const j = new ActivityJudge(10_000);
  let s = { ...base, ...over };
  for (let t = 0; t <= 20_000; t += 2_000) {
    j.add(s);
    s = {
      ...s,
      at: t + 2_000,
      ingestPublished: s.ingestPublished + (step.ingestPublished ?? 0),
      privacyProcessed: s.privacyProcessed + (step.privacyProcessed ?? 0),
      privacyFailures: s.privacyFailures + (step.privacyFailures ?? 0),
      analyticsProcessed: (s.analyticsProcessed ?? 0) + (step.analyticsProcessed ?? 0),
      wallOut: s.wallOut + (step.wallOut ?? 0),
    };
  }
  return j;
}

describe('ActivityJudge', () => {
  it('says starting (ok) until it has a window of samples', () => {
    const j = new ActivityJudge(10_000);
    j.add(base);
    expect(j.judge().privacy).toEqual({ state: 'ok', detail: 'starting' });
  });

  it('is ok when every component keeps up', () => {
    const v = run({ ingestPublished: 20, privacyProcessed: 20, analyticsProcessed: 20, wallOut: 20 }).judge();
    expect([v.ingest.state, v.privacy.state, v.analytics?.state, v.wall.state]).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(v.privacy.detail).toBe('10.0/s redacted');
  });

  it('says privacy is down when frames come in and none is redacted, naming failures when they are the reason', () => {
    expect(run({ ingestPublished: 20 }).judge().privacy).toMatchObject({ state: 'down', detail: expect.stringMatching(/none redacted/) });
    expect(run({ ingestPublished: 20, privacyFailures: 20 }).judge().privacy).toMatchObject({ state: 'down', detail: expect.stringMatching(/every frame failed redaction/) });
    expect(run({ ingestPublished: 20, privacyProcessed: 10, privacyFailures: 10, analyticsProcessed: 10, wallOut: 10 }).judge().privacy.state).toBe('degraded');
  });

  it('says ingest is down when no camera delivers, degraded when some are not live; analytics down when nothing is tracked', () => {
    expect(run({}).judge().ingest.state).toBe('down');
    expect(run({ ingestPublished: 20, privacyProcessed: 20, analyticsProcessed: 20, wallOut: 20 }, { camerasLive: 1 }).judge().ingest.state).toBe('degraded');
    expect(run({ ingestPublished: 20, privacyProcessed: 20, wallOut: 20 }).judge().analytics?.state).toBe('down');
    expect(run({ ingestPublished: 20, privacyProcessed: 20, analyticsProcessed: 20 }).judge().wall.state).toBe('degraded');
    expect(run({}, { camerasEnabled: 0, camerasLive: 0 }).judge().ingest.state).toBe('ok');
  });
});
