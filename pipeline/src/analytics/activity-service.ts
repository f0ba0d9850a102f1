import { ACTIVITY_MAX_SPAN_MS, ANOMALY_TYPES, activityQuerySchema, parseActivityLines, anomalyCountsQuerySchema, formatIssues, type ActivityReport, type AnomalyCounts, type AnomalyType, type CameraRecord } from '@chronotrace/contracts';
import { timeParam, type AlertRepository, type SceneRepository } from '@chronotrace/platform';
import { ActivityAccumulator } from './activity';

export interface ActivityServiceOptions {
  store: { scene: SceneRepository; alerts: AlertRepository };
  /** Frames one report reads at most (a longer span is reported as truncated). Default 250 000. */
  maxFrames?: number;
}

export type ActivityResult<T> = { ok: true; value: T } | { ok: false; error: string; details: string[] };

const PAGE = 5_000;
const DAY = 86_400_000;

/**
 * Activity analytics over what is stored: a camera's heatmap, line crossings and zone occupancy from
 * its scene frames (read in pages, oldest first), and anomalies per day from the alerts.
 */
export class ActivityService {
  constructor(private readonly o: ActivityServiceOptions) {}

  async report(camera: CameraRecord, query: Record<string, string>, now = Date.now()): Promise<ActivityResult<ActivityReport>> {
    const parsed = activityQuerySchema.safeParse(query);
    if (!parsed.success) return { ok: false, error: 'invalid activity request', details: formatIssues(parsed.error.issues) };
    const q = parsed.data;
    const to = timeParam(q.to, 'to', now);
    const from = timeParam(q.from, 'from', typeof to === 'number' ? to - 3_600_000 : 0);
    const details = [from, to].filter((x): x is string => typeof x === 'string');
    if (details.length > 0) return { ok: false, error: 'invalid activity request', details };
    const f = from as number;
    const t = to as number;
    if (f >= t) return { ok: false, error: 'invalid activity request', details: ['from: must be before to'] };
    if (t - f > ACTIVITY_MAX_SPAN_MS) return { ok: false, error: 'invalid activity request', details: [`to: a report covers at most ${ACTIVITY_MAX_SPAN_MS / DAY} days`] };
    const bucketMs = q.bucket !== undefined ? q.bucket * 60_000 : Math.max(60_000, Math.ceil((t - f) / 60 / 60_000) * 60_000);
    if ((t - f) / bucketMs > 2_000) return { ok: false, error: 'invalid activity request', details: ['bucket: too small for the span (at most 2000 buckets)'] };
    // A camera stored before lines existed has none.
    const own = camera.lines ?? [];
    const drawn = parseActivityLines(q.lines);
    const clash = drawn.find((l, i) => own.some((c) => c.name === l.name) || drawn.findIndex((d) => d.name === l.name) !== i);
    if (clash) return { ok: false, error: 'invalid activity request', details: [`lines: "${clash.name}" is named twice (the camera's lines are counted already)`] };
    const degenerate = drawn.find((l) => l.from[0] === l.to[0] && l.from[1] === l.to[1]);
    if (degenerate) return { ok: false, error: 'invalid activity request', details: [`lines: "${degenerate.name}" starts where it ends`] };
    const acc = new ActivityAccumulator({ camera: camera.id, from: f, to: t, bucketMs, label: q.label ?? 'person', lines: [...own, ...drawn], zones: (camera.zones ?? []).map((z) => z.name) });
    const max = this.o.maxFrames ?? 250_000;
    let cursor = f;
    let truncated = false;
    for (;;) {
      const page = await this.o.store.scene.frames({ from: cursor, to: t, cameras: [camera.id], limit: PAGE });
      for (const fr of page) acc.feed(fr);
      if (page.length < PAGE) break;
      cursor = page[page.length - 1]!.capturedAt + 1;
      if (acc.frames >= max) {
        truncated = true;
        break;
      }
    }
    return { ok: true, value: acc.report(truncated ? cursor : t, truncated) };
  }

  async anomalyCounts(query: Record<string, string>, now = Date.now()): Promise<ActivityResult<AnomalyCounts>> {
    const parsed = anomalyCountsQuerySchema.safeParse(query);
    if (!parsed.success) return { ok: false, error: 'invalid anomaly counts request', details: formatIssues(parsed.error.issues) };
    const days = parsed.data.days ?? 14;
    const tz = parsed.data.tz ?? 'UTC';
    const dayOf = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' });
    // Every local day of the range, newest last, from today back; hours are grouped onto their local day.
    const since = now - days * DAY;
    const list: string[] = [];
    for (let at = now - (days - 1) * DAY; at <= now; at += DAY) list.push(dayOf.format(at));
    const zero = (): Record<AnomalyType, number> => Object.fromEntries(ANOMALY_TYPES.map((k) => [k, 0])) as Record<AnomalyType, number>;
    const byDay = new Map(list.map((d) => [d, zero()]));
    const anomaly = new Set<string>(ANOMALY_TYPES);
    for (const h of await this.o.store.alerts.countsByHour(since, now + 1, parsed.data.camera)) {
      if (!anomaly.has(h.kind)) continue;
      const c = byDay.get(dayOf.format(h.hour));
      if (c) c[h.kind as AnomalyType] += h.count;
    }
    return { ok: true, value: { tz, days: list.map((day) => { const counts = byDay.get(day)!; return { day, counts, total: Object.values(counts).reduce((a, b) => a + b, 0) }; }) } };
  }
}
