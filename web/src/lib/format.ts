import type { AnomalyType, CameraState, RedactedFrameMeta, Severity } from '@chronotrace/contracts';

/** Text shown in each state's badge. Colour is never the only cue. */
export const STATE_LABEL: Record<CameraState, string> = {
  live: 'Live',
  starting: 'Starting',
  stalled: 'Stalled',
  down: 'Down',
  stopped: 'Stopped',
};

/** "3 s ago", "4 min ago", "—" before the first frame. */
export function ago(at: number | null, now: number): string {
  if (at === null) return '—';
  const s = Math.max(0, (now - at) / 1000);
  if (s < 1) return '<1 s ago';
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The privacy indicator: what the redaction stage hid in the latest frame. */
export function privacyText(meta: RedactedFrameMeta | null): string {
  if (!meta) return 'Redaction on · no frame yet';
  const heads = meta.redaction.heads?.length ?? 0;
  return `${plural(meta.redaction.faces.length, 'face', 'faces')} · ${heads > 0 ? `${plural(heads, 'head', 'heads')} · ` : ''}${plural(meta.redaction.plates.length, 'plate', 'plates')} hidden`;
}

export function fpsText(fps: number): string {
  return `${fps.toFixed(1)} fps`;
}

/** Severity names, lowest first; also the order of the severity select. Colour is never the only cue. */
export const SEVERITY_LABEL: Record<Severity, string> = {
  info: 'Info',
  warning: 'Warning',
  critical: 'Critical',
};

export const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

/** What a tile and an alert say of the anomaly that fired. */
export const ANOMALY_LABEL: Record<AnomalyType, string> = {
  loitering: 'loitering',
  crowd: 'crowd forming',
  abandoned: 'unattended bag',
  'after-hours': 'after hours',
  unusual: 'unusual movement',
  line: 'line crossed',
};

/** Local wall-clock time with seconds, 24 h ("14:03:27"); the date too when it is not today. */
export function clockTime(at: number, now: number = Date.now()): string {
  const d = new Date(at);
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  if (d.toDateString() === new Date(now).toDateString()) return time;
  return `${d.toLocaleDateString([], { day: 'numeric', month: 'short' })} ${time}`;
}
