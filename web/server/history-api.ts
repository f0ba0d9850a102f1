import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RecordingHealth, RecordingIndexResponse, RecordingSegment, TimelineResponse } from '@chronotrace/contracts';
import { sendError, sendJson, timeParam, type MediaFiles, type ObjectBody, type Store } from '@chronotrace/platform';
import { vodPlaylist } from '@chronotrace/media-server';
import type { SearchService } from '@chronotrace/pipeline';

export interface HistoryServices {
  store: Pick<Store, 'recordings' | 'trackSummaries' | 'alerts'>;
  search: SearchService;
  /** Recorded media: under the media root (shared with the recorder), else in the archive. */
  media: MediaFiles;
  /** The recorder's view of a camera (embedded mode), or null when it runs in another process. */
  recordingHealth: ((camera: string) => Promise<RecordingHealth>) | null;
  /** The recorder's state as a recording process elsewhere last reported it (distributed mode), or null. */
  reportedRecording?: (camera: string) => Pick<RecordingHealth, 'state' | 'error'> | null;
}

const RUN = /^[0-9a-z]{6,24}$/;
const FILE = /^(init\.mp4|seg-\d{6}\.m4s)$/;
const DAY = 86_400_000;

function range(url: URL, spanMs: number): { from: number; to: number } | { error: string } {
  const to = timeParam(url.searchParams.get('to'), 'to', Date.now());
  const from = timeParam(url.searchParams.get('from'), 'from', typeof to === 'number' ? to - spanMs : 0);
  if (typeof from === 'string') return { error: from };
  if (typeof to === 'string') return { error: to };
  if (from >= to) return { error: 'from: must be before to' };
  if (to - from > 31 * DAY) return { error: 'to: a range is at most 31 days' };
  return { from, to };
}

/**
 * Routes of recorded history: search, track thumbnails, a camera's recording (index, VOD playlist,
 * segment files) and timeline. Returns a handler that answers its paths (after the caller authorised
 * the request) and false for others.
 */
export function historyRoutes(s: HistoryServices) {
  return {
    async search(res: ServerResponse, url: URL): Promise<void> {
      const r = await s.search.search(Object.fromEntries(url.searchParams));
      if (r.ok) return sendJson(res, 200, r.response);
      if ('rejection' in r) return sendJson(res, 400, r.rejection);
      sendError(res, 400, r.error, r.details);
    },

    async thumbnail(res: ServerResponse, url: URL, trackId: string): Promise<void> {
      const kind = url.searchParams.get('kind') ?? 'crop';
      if (kind !== 'crop' && kind !== 'frame') return sendError(res, 400, 'invalid thumbnail', ['kind: must be crop or frame']);
      const jpeg = await s.store.trackSummaries.thumbnail(trackId, kind);
      if (!jpeg) return sendError(res, 404, `track "${trackId.slice(0, 80)}" has no thumbnail`);
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.byteLength, 'cache-control': 'private, max-age=300' });
      res.end(jpeg);
    },

    async recording(res: ServerResponse, url: URL, camera: string): Promise<void> {
      const r = range(url, DAY);
      if ('error' in r) return sendError(res, 400, 'invalid range', [r.error]);
      const segments = await s.store.recordings.list(camera, r);
      const health = s.recordingHealth
        ? await s.recordingHealth(camera)
        : { ...(s.reportedRecording?.(camera) ?? { state: null, error: null }), ...(await s.store.recordings.totals(camera)) };
      const body: RecordingIndexResponse = { camera, ...r, health, segments: segments.map(({ startAt, endAt, bytes, frames, keyframes, id }) => ({ id, startAt, endAt, bytes, frames, keyframes })) };
      sendJson(res, 200, body);
    },

    async playlist(res: ServerResponse, url: URL, camera: string): Promise<void> {
      const r = range(url, 3_600_000);
      if ('error' in r) return sendError(res, 400, 'invalid range', [r.error]);
      const segments = await s.store.recordings.list(camera, r);
      if (segments.length === 0) return sendError(res, 404, `camera "${camera}" has no recording between ${new Date(r.from).toISOString()} and ${new Date(r.to).toISOString()}`);
      const base = `/api/cameras/${encodeURIComponent(camera)}/recording`;
      const body = vodPlaylist(segments, {
        segmentUrl: (x: RecordingSegment) => `${base}/${x.run}/${x.path.slice(x.path.lastIndexOf('/') + 1)}`,
        initUrl: (x: RecordingSegment) => `${base}/${x.run}/init.mp4`,
      });
      res.writeHead(200, {
        'content-type': 'application/vnd.apple.mpegurl',
        'cache-control': 'no-store',
        // Where media time 0 is in wall time: players map a moment to a position with it.
        'x-recording-start': String(segments[0]!.startAt),
      });
      res.end(body);
    },

    async file(req: IncomingMessage, res: ServerResponse, camera: string, run: string, file: string): Promise<void> {
      if (!RUN.test(run) || !FILE.test(file)) return sendError(res, 404, 'no such recording file');
      // Only files the index knows: a pruned or partial segment is never served.
      if (file !== 'init.mp4') {
        const seq = Number(file.slice(4, 10));
        if (!(await s.store.recordings.get(camera, run, seq))) return sendError(res, 404, 'no such recording segment');
      } else if ((await s.store.recordings.run(camera, run)).length === 0) return sendError(res, 404, 'no such recording run');
      const body = await s.media.get(`recordings/${camera}/${run}/${file}`).catch((err: unknown) => {
        sendError(res, 502, `the recording file could not be read: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      });
      if (body === undefined) return;
      if (!body) return sendError(res, 404, 'recording file is gone');
      sendMedia(req, res, body, { 'content-type': file.endsWith('.mp4') ? 'video/mp4' : 'video/iso.segment', 'cache-control': 'private, max-age=86400, immutable' });
    },

    async timeline(res: ServerResponse, url: URL, camera: string): Promise<void> {
      const r = range(url, 3_600_000);
      if ('error' in r) return sendError(res, 400, 'invalid range', [r.error]);
      const [segments, alerts, tracks] = await Promise.all([
        s.store.recordings.list(camera, r),
        s.store.alerts.list({ camera, since: r.from, until: r.to, limit: 2000 }),
        s.store.trackSummaries.inRange(camera, r.from, r.to, 5000),
      ]);
      const buckets = 200;
      const bucketMs = Math.max(1000, Math.ceil((r.to - r.from) / buckets));
      const counts = new Array<number>(Math.ceil((r.to - r.from) / bucketMs)).fill(0);
      for (const t of tracks) {
        const a = Math.max(0, Math.floor((t.firstSeen - r.from) / bucketMs));
        const b = Math.min(counts.length - 1, Math.floor((t.lastSeen - r.from) / bucketMs));
        for (let i = a; i <= b; i++) counts[i]!++;
      }
      // Adjacent segments merged into spans: the band of "recorded" on the timeline.
      const spans: { startAt: number; endAt: number }[] = [];
      for (const x of segments) {
        const last = spans[spans.length - 1];
        if (last && x.startAt - last.endAt <= 1_000) last.endAt = Math.max(last.endAt, x.endAt);
        else spans.push({ startAt: x.startAt, endAt: x.endAt });
      }
      const body: TimelineResponse = {
        camera,
        ...r,
        segments: spans,
        alerts: alerts.map((a) => ({ id: a.id, at: a.capturedAt, query: a.queryText, severity: a.severity })),
        tracks: tracks.map((t) => ({ trackId: t.trackId, label: t.label, start: t.firstSeen, end: t.lastSeen })),
        density: { bucketMs, counts },
      };
      sendJson(res, 200, body);
    },
  };
}

/** Streams a media object with its length (HEAD: the headers only); a read failure mid-way aborts the response. */
export function sendMedia(req: IncomingMessage, res: ServerResponse, body: ObjectBody, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, 'content-length': body.bytes });
  if (req.method === 'HEAD') {
    body.stream.destroy();
    return void res.end();
  }
  body.stream.on('error', () => res.destroy()).pipe(res);
}
