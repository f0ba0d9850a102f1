import type { ComponentState } from '@chronotrace/contracts';

/**
 * Judges the embedded components by what they did lately, not by their existence: each component is
 * healthy when its work kept up with its input over the last `windowMs`. Pure: the runtime feeds it
 * samples of cumulative counters (every couple of seconds) and asks it for a verdict.
 */

/** Cumulative counters at one moment (ms epoch `at`). */
export interface ActivitySample {
  at: number;
  /** Cameras configured and enabled / currently live at ingest. */
  camerasEnabled: number;
  camerasLive: number;
  /** Raw frames published by ingest. */
  ingestPublished: number;
  /** Raw frames the privacy stage redacted and published. */
  privacyProcessed: number;
  /** Raw frames the privacy stage dropped because redaction failed (fail closed). */
  privacyFailures: number;
  /** Redacted frames the scene (tracking) stage processed; null without analytics. */
  analyticsProcessed: number | null;
  /** Frames the wall pushed to sockets, and its connected clients. */
  wallOut: number;
  wallClients: number;
}

export interface ComponentVerdict {
  state: ComponentState;
  detail: string;
}

export interface ActivityVerdicts {
  ingest: ComponentVerdict;
  privacy: ComponentVerdict;
  analytics?: ComponentVerdict;
  wall: ComponentVerdict;
}

/** A component with input but no output for this long is down. */
export const DEFAULT_ACTIVITY_WINDOW_MS = 15_000;

export class ActivityJudge {
  private readonly samples: ActivitySample[] = [];

  constructor(private readonly windowMs = DEFAULT_ACTIVITY_WINDOW_MS) {}

  add(s: ActivitySample): void {
    this.samples.push(s);
    // Keep one sample at least a window old (the baseline), and everything after it.
    while (this.samples.length > 2 && (this.samples[1] as ActivitySample).at <= s.at - this.windowMs) this.samples.shift();
  }

  judge(): ActivityVerdicts {
    const last = this.samples[this.samples.length - 1];
    const first = this.samples[0];
    const starting: ComponentVerdict = { state: 'ok', detail: 'starting' };
    if (!last || !first || last.at - first.at < this.windowMs) {
      return { ingest: starting, privacy: starting, wall: starting, ...(last?.analyticsProcessed !== null && last ? { analytics: starting } : {}) };
    }
    const secs = (last.at - first.at) / 1000;
    const rate = (a: number, b: number): string => `${((a - b) / secs).toFixed(1)}/s`;
    const published = last.ingestPublished - first.ingestPublished;
    const processed = last.privacyProcessed - first.privacyProcessed;
    const failures = last.privacyFailures - first.privacyFailures;
    const ingest: ComponentVerdict =
      last.camerasEnabled === 0
        ? { state: 'ok', detail: 'no camera enabled' }
        : published > 0
          ? { state: last.camerasLive < last.camerasEnabled ? 'degraded' : 'ok', detail: `${last.camerasLive}/${last.camerasEnabled} cameras live, ${rate(last.ingestPublished, first.ingestPublished)} frames in` }
          : { state: 'down', detail: `no frame from any of ${last.camerasEnabled} cameras in ${Math.round(secs)} s` };
    const privacy: ComponentVerdict =
      published === 0
        ? { state: 'ok', detail: 'no frames to redact' }
        : processed === 0
          ? { state: 'down', detail: failures > 0 ? `every frame failed redaction (${failures} in ${Math.round(secs)} s)` : `${published} frames in, none redacted in ${Math.round(secs)} s` }
          : failures > 0
            ? { state: 'degraded', detail: `${rate(last.privacyProcessed, first.privacyProcessed)} redacted, ${failures} failed redaction` }
            : { state: 'ok', detail: `${rate(last.privacyProcessed, first.privacyProcessed)} redacted` };
    const out: ActivityVerdicts = { ingest, privacy, wall: { state: 'ok', detail: `${last.wallClients} clients` } };
    if (last.analyticsProcessed !== null && first.analyticsProcessed !== null) {
      const tracked = last.analyticsProcessed - first.analyticsProcessed;
      out.analytics =
        processed === 0 || tracked > 0
          ? { state: 'ok', detail: processed === 0 ? 'no frames to track' : `${rate(last.analyticsProcessed, first.analyticsProcessed)} frames tracked` }
          : { state: 'down', detail: `${processed} frames redacted, none tracked in ${Math.round(secs)} s: standing queries do not fire` };
    }
    if (last.wallClients > 0 && processed > 0 && last.wallOut === first.wallOut) out.wall = { state: 'degraded', detail: `${last.wallClients} clients, no frame pushed in ${Math.round(secs)} s` };
    return out;
  }
}
