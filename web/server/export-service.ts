import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { formatIssues, newExportSchema, processTimeZone, type Alert, type EvidenceExport, type TrackSummary } from '@chronotrace/contracts';
import type { Logger, MediaFiles, Store } from '@chronotrace/platform';
import { buildEvidenceClip, type FfmpegBinary } from '@chronotrace/media-server';
import type { CameraService } from './camera-service';

export interface ExportServiceOptions {
  store: Pick<Store, 'exports' | 'recordings' | 'alerts' | 'trackSummaries'>;
  cameras: CameraService;
  ffmpeg: () => Promise<FfmpegBinary>;
  /** Recordings are read here (staged to disk when archived); exports are written under its root, then archived when it has an archive. */
  media: MediaFiles;
  log: Logger;
  /** Prints HTML to PDF (Chromium); null when none is available (the export then has HTML only). */
  printPdf: ((html: string, out: string) => Promise<void>) | null;
  /** Longest range one export may cover. Default 1 h. */
  maxRangeMs?: number;
}

export type CreateExportOutcome = { ok: true; export: EvidenceExport } | { ok: false; status: 400 | 404 | 422; error: string; details?: string[] };

/** Evidence files are made under `<mediaRoot>/exports/<id>/` (then archived with MEDIA_STORE=s3). */
export function exportDir(mediaRoot: string, id: string): string {
  return join(mediaRoot, 'exports', id);
}

/** The media key of an export's file. */
export function exportKey(id: string, file: string): string {
  return `exports/${id}/${file}`;
}

function time(v: number | string): number {
  return typeof v === 'number' ? v : /^\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
}

/**
 * Evidence exports: a range of a camera's redacted recording cut into an MP4 with the camera and time
 * burned in and hashed, and an incident report (HTML, and PDF printed by Chromium) listing the alerts,
 * queries, tracks and evidence snapshots of the range with the MP4's hash. Every export records who,
 * when and why, and holds its range so retention never prunes it.
 */
export class ExportService {
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly o: ExportServiceOptions) {}

  list(): Promise<EvidenceExport[]> {
    return this.o.store.exports.list(200);
  }

  get(id: string): Promise<EvidenceExport | null> {
    return this.o.store.exports.get(id);
  }

  async create(input: unknown, requestedBy: string): Promise<CreateExportOutcome> {
    const parsed = newExportSchema.safeParse(input);
    if (!parsed.success) return { ok: false, status: 400, error: 'invalid export', details: formatIssues(parsed.error.issues) };
    const from = time(parsed.data.from);
    const to = time(parsed.data.to);
    const details: string[] = [];
    if (!Number.isFinite(from)) details.push('from: neither ms since the epoch nor an ISO 8601 time');
    if (!Number.isFinite(to)) details.push('to: neither ms since the epoch nor an ISO 8601 time');
    if (details.length === 0 && from >= to) details.push('to: must be after from');
    const max = this.o.maxRangeMs ?? 3_600_000;
    if (details.length === 0 && to - from > max) details.push(`to: an export covers at most ${Math.round(max / 60_000)} minutes`);
    if (details.length) return { ok: false, status: 400, error: 'invalid export', details };
    const camera = await this.o.cameras.get(parsed.data.camera);
    if (!camera) return { ok: false, status: 404, error: `no camera "${parsed.data.camera}"` };
    const segments = await this.o.store.recordings.list(camera.id, { from, to });
    if (segments.length === 0) return { ok: false, status: 422, error: `camera "${camera.id}" has no recording between ${new Date(from).toISOString()} and ${new Date(to).toISOString()}` };
    const e: EvidenceExport = {
      id: `ex-${randomBytes(6).toString('hex')}`,
      camera: camera.id,
      from,
      to,
      reason: parsed.data.reason,
      requestedBy,
      createdAt: Date.now(),
      state: 'processing',
      error: null,
      mp4Sha256: null,
      mp4Bytes: null,
      files: null,
      finishedAt: null,
    };
    // The hold first: from now on retention spares the range, even while the clip is being cut.
    await this.o.store.recordings.addHold({ id: e.id, camera: camera.id, from, to, reason: `export ${e.id}: ${e.reason}`.slice(0, 500), createdAt: e.createdAt });
    await this.o.store.exports.insert(e);
    this.o.log.info({ export: e.id, camera: e.camera, from, to, by: requestedBy, reason: e.reason }, 'export requested');
    const run = this.produce(e, camera.name, camera.timeZone ?? processTimeZone()).finally(() => this.running.delete(run));
    this.running.add(run);
    return { ok: true, export: e };
  }

  private async produce(e: EvidenceExport, cameraName: string, timeZone: string): Promise<void> {
    const dir = exportDir(this.o.media.root, e.id);
    const stage = join(dir, 'segments');
    try {
      await mkdir(dir, { recursive: true });
      const segments = await this.o.store.recordings.list(e.camera, { from: e.from, to: e.to });
      // Archived segments are read from a local copy (ffmpeg reads files).
      let root = this.o.media.root;
      if (segments.some((s) => s.archived)) {
        root = stage;
        for (const key of new Set(segments.flatMap((s) => [s.initPath, s.path]))) {
          await mkdir(dirname(join(stage, key)), { recursive: true });
          if (!(await this.o.media.download(key, join(stage, key)))) throw new Error(`recording file ${key} is gone`);
        }
      }
      const clip = await buildEvidenceClip({ ffmpeg: await this.o.ffmpeg(), root, segments, from: e.from, to: e.to, cameraName, timeZone, out: join(dir, 'clip.mp4') });
      await rm(stage, { recursive: true, force: true });
      const [alerts, tracks] = await Promise.all([
        this.o.store.alerts.list({ camera: e.camera, since: e.from, until: e.to, limit: 500 }),
        this.o.store.trackSummaries.inRange(e.camera, e.from, e.to, 500),
      ]);
      const snapshots = new Map<string, string>();
      for (const a of alerts.slice(0, 50)) {
        const jpeg = await this.o.store.alerts.snapshot(a.id);
        if (jpeg) snapshots.set(a.id, `data:image/jpeg;base64,${Buffer.from(jpeg).toString('base64')}`);
      }
      const thumbs = new Map<string, string>();
      for (const t of tracks.slice(0, 50)) {
        const jpeg = await this.o.store.trackSummaries.thumbnail(t.trackId, 'crop');
        if (jpeg) thumbs.set(t.trackId, `data:image/jpeg;base64,${Buffer.from(jpeg).toString('base64')}`);
      }
      const html = incidentReport({ e: { ...e, mp4Sha256: clip.sha256, mp4Bytes: clip.bytes }, cameraName, timeZone, alerts, tracks, snapshots, thumbs, clip });
      await writeFile(join(dir, 'report.html'), html);
      let hasPdf = false;
      if (this.o.printPdf) {
        try {
          await this.o.printPdf(html, join(dir, 'report.pdf'));
          hasPdf = true;
        } catch (err) {
          this.o.log.warn({ err, export: e.id }, 'could not print the report to PDF (HTML only)');
        }
      }
      // With an archive the files go there (every web replica serves them), and the local copies go.
      const archive = this.o.media.archive;
      if (archive) {
        for (const f of ['clip.mp4', 'report.html', ...(hasPdf ? ['report.pdf'] : [])]) await archive.putFile(exportKey(e.id, f), join(dir, f));
        await rm(dir, { recursive: true, force: true });
      }
      await this.o.store.exports.finish(e.id, { state: 'done', error: null, mp4Sha256: clip.sha256, mp4Bytes: clip.bytes, hasPdf, at: Date.now() });
      this.o.log.info({ export: e.id, bytes: clip.bytes, sha256: clip.sha256, alerts: alerts.length, tracks: tracks.length, pdf: hasPdf }, 'export done');
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      this.o.log.error({ err, export: e.id }, 'export failed');
      await this.o.store.exports.finish(e.id, { state: 'failed', error: error.slice(0, 500), mp4Sha256: null, mp4Bytes: null, hasPdf: false, at: Date.now() }).catch(() => undefined);
      await rm(stage, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Fails the exports a dead process left 'processing' (requested before `before`: every one in
   * embedded mode, where this process makes them all). Their holds stay: they still refer to the range.
   */
  async start(before: number): Promise<void> {
    const ids = await this.o.store.exports.failInterrupted(before, 'interrupted: the server stopped before the export finished; request it again', Date.now());
    if (ids.length) this.o.log.warn({ exports: ids }, 'exports interrupted by a restart marked failed');
  }

  /** Waits for exports in progress. */
  async close(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

interface ReportInput {
  e: EvidenceExport;
  cameraName: string;
  timeZone: string;
  alerts: Alert[];
  tracks: TrackSummary[];
  snapshots: Map<string, string>;
  thumbs: Map<string, string>;
  clip: { durationS: number; captioned: boolean };
}

/** The incident report as one self-contained HTML page (images inline), printable to PDF. */
export function incidentReport(r: ReportInput): string {
  const when = (t: number): string =>
    new Intl.DateTimeFormat('en-GB', { timeZone: r.timeZone, dateStyle: 'medium', timeStyle: 'medium' }).format(new Date(t));
  const queries = [...new Map(r.alerts.map((a) => [a.queryId, a])).values()];
  const colors = (t: TrackSummary): string =>
    Object.entries(t.colors)
      .map(([part, shares]) => `${part}: ${Object.entries(shares ?? {}).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)).slice(0, 2).map(([c]) => c).join('/')}`)
      .join(', ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Incident report ${esc(r.e.id)}</title>
<style>
body{font-family:"DejaVu Sans",system-ui,sans-serif;font-size:11pt;margin:18mm;color:#111}
h1{font-size:18pt;margin:0 0 4mm}h2{font-size:13pt;margin:8mm 0 2mm;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #bbb;padding:3px 5px;text-align:left;vertical-align:top;font-size:9.5pt}
.kv td:first-child{width:32%;font-weight:bold}.hash{font-family:"DejaVu Sans Mono",monospace;word-break:break-all}
img.snap{max-width:60mm;max-height:45mm}img.thumb{max-height:22mm}.note{color:#555;font-size:9pt}
</style></head><body>
<h1>Incident report</h1>
<table class="kv">
<tr><td>Export</td><td>${esc(r.e.id)}</td></tr>
<tr><td>Camera</td><td>${esc(r.cameraName)} (${esc(r.e.camera)})</td></tr>
<tr><td>From</td><td>${esc(when(r.e.from))}</td></tr>
<tr><td>To</td><td>${esc(when(r.e.to))}</td></tr>
<tr><td>Time zone</td><td>${esc(r.timeZone)}</td></tr>
<tr><td>Reason</td><td>${esc(r.e.reason)}</td></tr>
<tr><td>Requested by</td><td>${esc(r.e.requestedBy)}, ${esc(when(r.e.createdAt))}</td></tr>
<tr><td>Clip</td><td>clip.mp4, ${r.clip.durationS.toFixed(1)} s, ${r.e.mp4Bytes ?? 0} bytes; redacted video${r.clip.captioned ? ', camera and time burned in' : ''}</td></tr>
<tr><td>SHA-256 of clip.mp4</td><td class="hash">${esc(r.e.mp4Sha256 ?? '')}</td></tr>
</table>
<p class="note">Faces, heads and licence plates were redacted before the video was stored; this export contains no unredacted picture.</p>
<h2>Alerts (${r.alerts.length})</h2>
${r.alerts.length === 0 ? '<p>No alert fired in this range.</p>' : `<table><tr><th>Time</th><th>Query</th><th>Severity</th><th>Reason</th><th>Snapshot</th></tr>
${r.alerts.map((a) => `<tr><td>${esc(when(a.capturedAt))}</td><td>${esc(a.queryText)}</td><td>${esc(a.severity)}</td><td>${esc(a.reason)}</td><td>${r.snapshots.has(a.id) ? `<img class="snap" src="${r.snapshots.get(a.id)}" alt="redacted snapshot of alert ${esc(a.id)}">` : '—'}</td></tr>`).join('\n')}</table>`}
<h2>Queries (${queries.length})</h2>
${queries.length === 0 ? '<p>None.</p>' : `<table><tr><th>Query</th><th>Understood as</th></tr>${queries.map((a) => `<tr><td>${esc(a.queryText)}</td><td>${esc(a.explanation)}</td></tr>`).join('')}</table>`}
<h2>Tracks (${r.tracks.length})</h2>
${r.tracks.length === 0 ? '<p>No track in this range.</p>' : `<table><tr><th>Track</th><th>What</th><th>Seen</th><th>Colours</th><th>Zones</th><th>Best view</th></tr>
${r.tracks.map((t) => `<tr><td>${esc(t.trackId)}</td><td>${esc(t.label)}</td><td>${esc(when(t.firstSeen))} – ${esc(when(t.lastSeen))}</td><td>${esc(colors(t))}</td><td>${esc(t.zones.join(', '))}</td><td>${r.thumbs.has(t.trackId) ? `<img class="thumb" src="${r.thumbs.get(t.trackId)}" alt="">` : '—'}</td></tr>`).join('\n')}</table>`}
</body></html>
`;
}
