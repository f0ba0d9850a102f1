import type { Alert, AnomalyType, Severity } from '@chronotrace/contracts';
import { ackAlert, errorText, listAlerts } from './api';
import { SEVERITY_RANK } from './format';

/** Most alerts the feed holds; older ones drop off the end (GET /api/alerts still has them). */
export const ALERT_FEED_CAP = 200;

/** How long a camera tile pulses after a live alert on that camera. */
export const ALERT_PULSE_MS = 10_000;

export type AlertAck = { id: string; by: string; at: number };

/** A camera tile's pulse: until when (local ms epoch) and the highest severity that caused it. */
export interface AlertPulse {
  until: number;
  severity: Severity;
  /** The anomaly that fired (the newest alert's), when it was one. */
  anomaly: AnomalyType | null;
}

/** Newest first; ties (same firing time) in a stable order. */
function newestFirst(a: Alert, b: Alert): number {
  return b.firedAt - a.firedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The alert feed: alerts from GET /api/alerts and the `alert` socket event, deduplicated by id,
 * newest first and capped so a storm cannot exhaust the page's memory. Acknowledgements from
 * this page and from others (`alertAck`) land here; live alerts make their camera's tile pulse.
 */
export class AlertState {
  /** Newest first, at most `cap`. */
  items: Alert[] = $state.raw([]);
  loaded = $state(false);
  loadError: string | null = $state(null);
  /** Alerts with an acknowledgement in flight from this page. */
  acking: ReadonlySet<string> = $state.raw(new Set());
  /** The last failed acknowledgement's message, per alert. */
  ackErrors: Readonly<Record<string, string>> = $state.raw({});
  /** Camera id → its pulse, for the tiles. Expired pulses are dropped on `tick`. */
  pulses: Readonly<Record<string, AlertPulse>> = $state.raw({});
  /** The latest live alert, announced to screen readers. */
  latest: Alert | null = $state.raw(null);

  readonly unacked = $derived(this.items.filter((a) => a.ack === null).length);

  /**
   * @param cap most alerts kept (default ALERT_FEED_CAP)
   * @param pulseMs how long a tile pulses after a live alert (default ALERT_PULSE_MS)
   */
  constructor(
    readonly cap = ALERT_FEED_CAP,
    readonly pulseMs = ALERT_PULSE_MS,
  ) {}

  get(id: string): Alert | undefined {
    return this.items.find((a) => a.id === id);
  }

  /** Loads the newest alerts and merges them with what the socket already delivered. */
  async load(signal?: AbortSignal): Promise<void> {
    const res = await listAlerts({ limit: this.cap }, signal);
    this.loaded = true;
    if (!res.ok) {
      this.loadError = errorText(res);
      return;
    }
    this.loadError = null;
    this.merge(res.value);
  }

  /** A live alert (socket): added once, and its camera pulses. A redelivery only refreshes it. */
  add(alert: Alert, now: number): void {
    const known = this.get(alert.id) !== undefined;
    this.merge([alert]);
    if (known || this.get(alert.id) === undefined) return;
    this.latest = alert;
    const current = this.pulses[alert.camera];
    const severity = current && current.until > now && SEVERITY_RANK[current.severity] > SEVERITY_RANK[alert.severity] ? current.severity : alert.severity;
    this.pulses = { ...this.pulses, [alert.camera]: { until: now + this.pulseMs, severity, anomaly: alert.anomaly?.type ?? null } };
  }

  applyAck(ack: AlertAck): void {
    const alert = this.get(ack.id);
    if (!alert || (alert.ack && alert.ack.at <= ack.at)) return;
    this.replace({ ...alert, ack: { by: ack.by, at: ack.at } });
  }

  async acknowledge(id: string): Promise<void> {
    if (this.acking.has(id)) return;
    this.acking = new Set([...this.acking, id]);
    const { [id]: _previous, ...rest } = this.ackErrors;
    this.ackErrors = rest;
    try {
      const res = await ackAlert(id);
      if (res.ok) this.replace(res.value);
      else this.ackErrors = { ...this.ackErrors, [id]: errorText(res) };
    } finally {
      const next = new Set(this.acking);
      next.delete(id);
      this.acking = next;
    }
  }

  /** The camera's pulse, while it lasts. */
  pulse(camera: string, now: number): AlertPulse | null {
    const p = this.pulses[camera];
    return p && p.until > now ? p : null;
  }

  tick(now: number): void {
    const entries = Object.entries(this.pulses);
    const live = entries.filter(([, p]) => p.until > now);
    if (live.length !== entries.length) this.pulses = Object.fromEntries(live);
  }

  /** Union by id (an acknowledged copy wins over an unacknowledged one), newest first, capped. */
  private merge(incoming: Alert[]): void {
    const byId = new Map(this.items.map((a) => [a.id, a]));
    for (const a of incoming) {
      const had = byId.get(a.id);
      byId.set(a.id, had?.ack && !a.ack ? { ...a, ack: had.ack } : a);
    }
    this.items = [...byId.values()].sort(newestFirst).slice(0, this.cap);
  }

  private replace(alert: Alert): void {
    if (this.get(alert.id)) this.items = this.items.map((a) => (a.id === alert.id ? alert : a));
  }
}
