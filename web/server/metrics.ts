import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AlertMessage, CameraHealth, RedactedFrameMeta } from '@chronotrace/contracts';

/** Where the cumulative per-camera counters come from (embedded mode has them all in this process). */
export interface MetricSources {
  /** Camera ids to report. */
  cameras(): Promise<string[]>;
  health(camera: string): CameraHealth;
  /** Raw frames ingest published, per camera (embedded mode). */
  ingest?(): Record<string, number>;
  /** Privacy stage outcomes per camera (embedded mode). */
  privacy?(): Record<string, { processed: number; skipped: number; failures: number }>;
  /** Redacted frames this replica pushed to the wall, per camera. */
  delivered(): ReadonlyMap<string, number>;
  /** WebRTC video of this replica: per camera viewers, frames encoded and encoder CPU seconds. */
  video?(): { camera: string; viewers: number; framesOut: number; framesDropped: number; cpuSeconds: number }[];
  /** WHIP publishers connected to this process. */
  publishers?(): { camera: string; connected: boolean }[];
}

/**
 * Prometheus metrics at `GET /metrics` (prom-client): per camera frames in, redacted, skipped, failed
 * and delivered (counters), the ingest and delivered rates (gauges), the privacy and capture→wall latency
 * of every frame the wall pushes and the capture→fired latency of every alert (histograms), alerts by
 * camera and severity, and the process's own CPU, memory and event-loop lag.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly privacySeconds: Histogram<'camera'>;
  private readonly toWallSeconds: Histogram<'camera'>;
  private readonly alertSeconds: Histogram<'camera'>;
  private readonly alerts: Counter<'camera' | 'severity'>;

  constructor(sources: MetricSources) {
    const r = this.registry;
    collectDefaultMetrics({ register: r, prefix: 'chronotrace_' });
    const latency = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 2, 5];
    this.privacySeconds = new Histogram({ name: 'chronotrace_privacy_seconds', help: 'Time the privacy stage spent on a frame (detection or carrying, and redaction), per frame pushed to the wall', labelNames: ['camera'], buckets: latency, registers: [r] });
    this.toWallSeconds = new Histogram({ name: 'chronotrace_capture_to_wall_seconds', help: 'Frame captured at ingest → pushed to the wall by this replica', labelNames: ['camera'], buckets: latency, registers: [r] });
    this.alertSeconds = new Histogram({ name: 'chronotrace_alert_latency_seconds', help: 'Frame captured → alert fired, per alert this replica received', labelNames: ['camera'], buckets: latency, registers: [r] });
    this.alerts = new Counter({ name: 'chronotrace_alerts_total', help: 'Alerts this replica received from the bus', labelNames: ['camera', 'severity'], registers: [r] });
    // Cumulative counters read from their owners at scrape time (set to the current total).
    const absolute = (name: string, help: string, labels: string[], read: () => Promise<[Record<string, string>, number][]>): void => {
      new Counter({
        name,
        help,
        labelNames: labels,
        registers: [r],
        async collect() {
          this.reset();
          for (const [l, v] of await read()) this.inc(l, v);
        },
      });
    };
    absolute('chronotrace_frames_delivered_total', 'Redacted frames this replica pushed to the wall', ['camera'], async () => [...sources.delivered()].map(([camera, n]) => [{ camera }, n]));
    if (sources.ingest) {
      const ingest = sources.ingest;
      absolute('chronotrace_frames_ingested_total', 'Raw frames ingest published to the privacy stage', ['camera'], async () => Object.entries(ingest()).map(([camera, n]) => [{ camera }, n]));
    }
    if (sources.privacy) {
      const privacy = sources.privacy;
      absolute('chronotrace_privacy_frames_total', 'Raw frames by what the privacy stage did with them: redacted (published), skipped (to stay live, or held back), failed (dropped, fail closed)', ['camera', 'outcome'], async () =>
        Object.entries(privacy()).flatMap(([camera, c]) => [
          [{ camera, outcome: 'redacted' }, c.processed],
          [{ camera, outcome: 'skipped' }, c.skipped],
          [{ camera, outcome: 'failed' }, c.failures],
        ]),
      );
    }
    if (sources.video) {
      const video = sources.video;
      absolute('chronotrace_video_frames_encoded_total', 'Redacted frames encoded to H.264 for WebRTC viewers', ['camera'], async () => video().map((v) => [{ camera: v.camera }, v.framesOut]));
      absolute('chronotrace_video_frames_dropped_total', 'Redacted frames the encoder dropped (behind, restarting, not a JPEG)', ['camera'], async () => video().map((v) => [{ camera: v.camera }, v.framesDropped]));
      absolute('chronotrace_video_encoder_cpu_seconds_total', "CPU seconds of the camera's encoder (ffmpeg)", ['camera'], async () => video().map((v) => [{ camera: v.camera }, v.cpuSeconds]));
      new Gauge({
        name: 'chronotrace_video_viewers',
        help: 'WebRTC (WHEP) viewers of the camera on this replica',
        labelNames: ['camera'],
        registers: [r],
        collect() {
          this.reset();
          for (const v of video()) this.set({ camera: v.camera }, v.viewers);
        },
      });
    }
    if (sources.publishers) {
      const publishers = sources.publishers;
      new Gauge({
        name: 'chronotrace_whip_publishers',
        help: 'WHIP publishers of the camera on this process (1 connected, 0 answered but not connected yet)',
        labelNames: ['camera'],
        registers: [r],
        collect() {
          this.reset();
          for (const p of publishers()) this.set({ camera: p.camera }, p.connected ? 1 : 0);
        },
      });
    }
    const gauge = (name: string, help: string, pick: (h: CameraHealth) => number): void => {
      new Gauge({
        name,
        help,
        labelNames: ['camera'],
        registers: [r],
        async collect() {
          this.reset();
          for (const camera of await sources.cameras()) this.set({ camera }, pick(sources.health(camera)));
        },
      });
    };
    gauge('chronotrace_camera_ingest_fps', 'Frames per second ingest takes from the camera', (h) => h.fps);
    gauge('chronotrace_camera_delivered_fps', 'Redacted frames per second pushed to the wall by this replica (last 5 s)', (h) => h.deliveredFps ?? 0);
    gauge('chronotrace_camera_up', 'The camera is live at ingest (1) or not (0)', (h) => (h.state === 'live' ? 1 : 0));
  }

  /** A redacted frame pushed to the wall at `at`. */
  frame(meta: RedactedFrameMeta, at: number): void {
    this.privacySeconds.observe({ camera: meta.camera }, meta.redaction.ms / 1000);
    this.toWallSeconds.observe({ camera: meta.camera }, Math.max(0, at - meta.capturedAt) / 1000);
  }

  alert(alert: AlertMessage): void {
    this.alerts.inc({ camera: alert.camera, severity: alert.severity });
    this.alertSeconds.observe({ camera: alert.camera }, Math.max(0, alert.firedAt - alert.capturedAt) / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
