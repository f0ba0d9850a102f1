import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAMERA_ID_PATTERN, alertListQuerySchema, compileQuerySchema, formatIssues, type CameraRecord, type CameraView, type PublishTokenIssued, type SystemHealth } from '@chronotrace/contracts';
import type { AlertRepository, Logger, MediaFiles, SceneRepository } from '@chronotrace/platform';
import type { AccessPolicy, ApiAction } from './auth';
import { redactSource, type CameraService } from './camera-service';
import type { HealthBoard } from './health-board';
import type { Metrics } from './metrics';
import { readJsonBody, sendError, sendJson } from '@chronotrace/platform';
import type { QueryService } from './query-service';
import type { PublishTokens } from '@chronotrace/media-server';
import type { WebhookDispatcher } from './webhook-dispatcher';
import { sendMedia, type historyRoutes } from './history-api';
import type { VideoService } from './video-service';
import { exportKey, type ExportService } from './export-service';
import type { ActivityService, IdentityService } from '@chronotrace/pipeline';

export interface ApiServices {
  cameras: CameraService;
  health: HealthBoard;
  snapshot(camera: string): Promise<{ jpeg: Uint8Array; meta: { capturedAt: number } } | null>;
  system(): Promise<SystemHealth>;
  policy: AccessPolicy;
  log: Logger;
  queries: QueryService;
  alerts: AlertRepository;
  /** Stored tracks, for GET /api/cameras/:id/tracks. */
  scene: SceneRepository;
  webhooks: WebhookDispatcher;
  /** A recent alert's snapshot held in memory (before or without the store), or null. */
  alertSnapshot(id: string): Uint8Array | null;
  /** Called after an alert was acknowledged here (to tell every browser). */
  onAlertAck(ack: { id: string; by: string; at: number }): void;
  /** Prometheus metrics of this process, for GET /metrics. */
  metrics(): Metrics;
  /** WHIP publish tokens of WebRTC cameras. */
  tokens: PublishTokens;
  /** Recorded history: search, thumbnails, recordings, timelines. */
  history: ReturnType<typeof historyRoutes>;
  /** Uploaded videos and their jobs. */
  videos: VideoService;
  /** People followed across cameras (re-ID links). */
  identities: IdentityService;
  /** Heatmaps, line and zone counts, anomalies per day. */
  activity: ActivityService;
  exports: ExportService;
  /** Recorded media and exports, on disk or archived. */
  media: MediaFiles;
}

/** Ids of queries (`q-…`), alerts (`al_…`) and webhooks (`wh-…`). */
const RECORD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,79}$/;

export function toCameraView(rec: CameraRecord, health: HealthBoard): CameraView {
  return {
    id: rec.id,
    name: rec.name,
    location: rec.location,
    source: redactSource(rec.source),
    fps: rec.fps,
    width: rec.width,
    enabled: rec.enabled,
    origin: rec.origin,
    health: health.get(rec.id),
  };
}

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, ctx: { principal: string; url: URL }) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  keys: string[];
  action: ApiAction;
  handler: Handler;
}

/**
 * The REST API. Every route declares the action it needs; the AccessPolicy decides before
 * the handler runs. Returns a request listener that answers /api/* and reports whether it did.
 */
export function createApi(s: ApiServices): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const routes: Route[] = [];
  const route = (method: string, path: string, action: ApiAction, handler: Handler): void => {
    const keys: string[] = [];
    const pattern = new RegExp(
      '^' + path.replace(/:([a-z]+)/g, (_m, k: string) => (keys.push(k), '([^/]+)')).replace(/\./g, '\\.') + '$',
    );
    routes.push({ method, pattern, keys, action, handler });
  };

  route('GET', '/metrics', 'health:read', async (_req, res) => {
    const m = s.metrics();
    const body = await m.text();
    res.writeHead(200, { 'content-type': m.contentType, 'cache-control': 'no-store' });
    res.end(body);
  });

  route('GET', '/api/health', 'health:read', async (_req, res) => {
    const h = await s.system();
    sendJson(res, h.status === 'down' ? 503 : 200, h);
  });

  route('GET', '/api/cameras', 'cameras:read', async (_req, res) => {
    const list = await s.cameras.list();
    sendJson(res, 200, list.map((r) => toCameraView(r, s.health)));
  });

  route('GET', '/api/cameras/:id', 'cameras:read', async (_req, res, p) => {
    const rec = await s.cameras.get(p.id!);
    if (!rec) return sendError(res, 404, `no camera "${p.id}"`);
    sendJson(res, 200, toCameraView(rec, s.health));
  });

  route('GET', '/api/cameras/:id/snapshot.jpg', 'snapshots:read', async (_req, res, p) => {
    const rec = await s.cameras.get(p.id!);
    if (!rec) return sendError(res, 404, `no camera "${p.id}"`);
    const snap = await s.snapshot(p.id!);
    if (!snap) return sendError(res, 404, `camera "${p.id}" has no frame yet`);
    res.writeHead(200, {
      'content-type': 'image/jpeg',
      'content-length': snap.jpeg.byteLength,
      'cache-control': 'no-store',
      'x-captured-at': String(snap.meta.capturedAt),
    });
    res.end(snap.jpeg);
  });

  route('GET', '/api/cameras/:id/tracks', 'cameras:read', async (_req, res, p, ctx) => {
    const rec = await s.cameras.get(p.id!);
    if (!rec) return sendError(res, 404, `no camera "${p.id}"`);
    const raw = ctx.url.searchParams.get('limit');
    const limit = raw === null ? 100 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return sendError(res, 400, 'invalid track filter', ['limit: must be an integer from 1 to 1000']);
    sendJson(res, 200, await s.scene.tracks(p.id!, limit));
  });

  route('GET', '/api/search', 'history:read', async (_req, res, _p, ctx) => s.history.search(res, ctx.url));

  route('POST', '/api/videos', 'videos:write', async (req, res) => {
    const r = await s.videos.upload(req);
    if (!r.ok) return sendError(res, r.status, r.error, r.details);
    res.setHeader('location', `/api/videos/${r.job.id}`);
    sendJson(res, 202, r.job);
  });
  route('GET', '/api/videos', 'history:read', async (_req, res) => sendJson(res, 200, await s.videos.list()));
  route('GET', '/api/videos/:id', 'history:read', async (_req, res, p) => {
    const job = await s.videos.get(p.id!);
    if (!job) return sendError(res, 404, `no video job "${p.id}"`);
    sendJson(res, 200, job);
  });
  route('DELETE', '/api/videos/:id', 'videos:write', async (_req, res, p) => {
    const r = await s.videos.cancel(p.id!);
    if (r === 'unknown') return sendError(res, 404, `no video job "${p.id}"`);
    if (r === 'ended') return sendError(res, 409, `video job "${p.id}" has already ended`);
    res.writeHead(204).end();
  });

  route('POST', '/api/exports', 'exports:write', async (req, res, _p, ctx) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const r = await s.exports.create(body.value, ctx.principal);
    if (!r.ok) return sendError(res, r.status, r.error, r.details);
    res.setHeader('location', `/api/exports/${r.export.id}`);
    sendJson(res, 202, r.export);
  });
  route('GET', '/api/exports', 'exports:read', async (_req, res) => sendJson(res, 200, await s.exports.list()));
  route('GET', '/api/exports/:id', 'exports:read', async (_req, res, p) => {
    const e = await s.exports.get(p.id!);
    if (!e) return sendError(res, 404, `no export "${p.id}"`);
    sendJson(res, 200, e);
  });
  const EXPORT_FILES: Record<string, string> = { 'clip.mp4': 'video/mp4', 'report.html': 'text/html; charset=utf-8', 'report.pdf': 'application/pdf' };
  route('GET', '/api/exports/:id/:file', 'exports:read', async (req, res, p) => {
    const type = EXPORT_FILES[p.file!];
    const e = type ? await s.exports.get(p.id!) : null;
    if (!type || !e || e.state !== 'done' || (p.file === 'report.pdf' && !e.files?.pdf)) return sendError(res, 404, `no such file of export "${p.id}"`);
    const body = await s.media.get(exportKey(e.id, p.file!));
    if (!body) return sendError(res, 404, 'the export file is gone');
    sendMedia(req, res, body, { 'content-type': type, 'content-disposition': `attachment; filename="${e.id}-${p.file}"`, 'cache-control': 'private, no-store' });
  });

  route('GET', '/api/tracks/:track/thumbnail.jpg', 'snapshots:read', async (_req, res, p, ctx) => s.history.thumbnail(res, ctx.url, p.track!));

  // People followed across cameras: any track id names its identity.
  route('GET', '/api/identities/:track', 'history:read', async (_req, res, p) => {
    const id = p.track!;
    if (id.length > 200) return sendError(res, 400, 'invalid identity', ['id: must be at most 200 characters']);
    const identity = await s.identities.get(id);
    if (!identity) return sendError(res, 404, `no track or identity "${id.slice(0, 80)}"`);
    sendJson(res, 200, identity);
  });
  route('GET', '/api/cameras/:id/activity', 'history:read', async (_req, res, p, ctx) => {
    const camera = await s.cameras.get(p.id!);
    if (!camera) return sendError(res, 404, `no camera "${p.id}"`);
    const r = await s.activity.report(camera, Object.fromEntries(ctx.url.searchParams));
    if (!r.ok) return sendError(res, 400, r.error, r.details);
    sendJson(res, 200, r.value);
  });
  route('GET', '/api/analytics/anomalies', 'alerts:read', async (_req, res, _p, ctx) => {
    const r = await s.activity.anomalyCounts(Object.fromEntries(ctx.url.searchParams));
    if (!r.ok) return sendError(res, 400, r.error, r.details);
    sendJson(res, 200, r.value);
  });
  route('GET', '/api/reid/topology', 'history:read', async (_req, res, _p, ctx) => {
    const days = Number(ctx.url.searchParams.get('days') ?? '7');
    if (!Number.isInteger(days) || days < 1 || days > 31) return sendError(res, 400, 'invalid topology request', ['days: must be a whole number from 1 to 31']);
    sendJson(res, 200, await s.identities.topology(Date.now() - days * 86_400_000));
  });

  const withCamera = (handler: (res: ServerResponse, url: URL, camera: string) => Promise<void>): Handler => async (_req, res, p, ctx) => {
    if (!(await s.cameras.get(p.id!))) return sendError(res, 404, `no camera "${p.id}"`);
    await handler(res, ctx.url, p.id!);
  };
  route('GET', '/api/cameras/:id/recording', 'history:read', withCamera((res, url, c) => s.history.recording(res, url, c)));
  route('GET', '/api/cameras/:id/recording.m3u8', 'history:read', withCamera((res, url, c) => s.history.playlist(res, url, c)));
  route('GET', '/api/cameras/:id/timeline', 'history:read', withCamera((res, url, c) => s.history.timeline(res, url, c)));
  route('GET', '/api/cameras/:id/recording/:run/:file', 'history:read', async (req, res, p) => s.history.file(req, res, p.id!, p.run!, p.file!));

  // A WebRTC camera's WHIP publish token: shown once in this answer, stored only as its hash. A new one replaces the old.
  route('POST', '/api/cameras/:id/publish-token', 'cameras:write', async (_req, res, p) => {
    const rec = await s.cameras.get(p.id!);
    if (!rec) return sendError(res, 404, `no camera "${p.id}"`);
    if (rec.source !== 'webrtc') return sendError(res, 409, `camera "${p.id}" is not a WebRTC camera: only cameras with source "webrtc" take publishers`);
    const issued = await s.tokens.issue(rec.id);
    if (!issued) return sendError(res, 404, `no camera "${p.id}"`);
    const body: PublishTokenIssued = { camera: rec.id, token: issued.token, createdAt: issued.createdAt, whip: `/whip/${encodeURIComponent(rec.id)}` };
    sendJson(res, 201, body);
  });

  route('DELETE', '/api/cameras/:id/publish-token', 'cameras:write', async (_req, res, p) => {
    if (!(await s.tokens.revoke(p.id!))) return sendError(res, 404, `camera "${p.id}" has no publish token`);
    res.writeHead(204).end();
  });

  route('POST', '/api/cameras', 'cameras:write', async (req, res) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const r = await s.cameras.add(body.value);
    if (!r.ok) return sendError(res, r.status, r.error, r.details);
    sendJson(res, 201, toCameraView(r.camera, s.health));
  });

  route('DELETE', '/api/cameras/:id', 'cameras:write', async (_req, res, p) => {
    const r = await s.cameras.remove(p.id!);
    if (!r.ok) return sendError(res, r.status, r.error);
    s.health.forget(p.id!);
    res.writeHead(204).end();
  });

  route('POST', '/api/queries/compile', 'queries:read', async (req, res) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const parsed = compileQuerySchema.safeParse(body.value);
    if (!parsed.success) return sendError(res, 400, 'invalid query', formatIssues(parsed.error.issues));
    sendJson(res, 200, await s.queries.compile(parsed.data.text));
  });

  route('GET', '/api/queries', 'queries:read', async (_req, res) => {
    sendJson(res, 200, await s.queries.list());
  });

  route('POST', '/api/queries', 'queries:write', async (req, res) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const r = await s.queries.create(body.value);
    if (r.ok) return sendJson(res, 201, r.query);
    if ('rejection' in r && r.rejection) return sendJson(res, 400, r.rejection);
    sendError(res, r.status, r.error, 'details' in r ? r.details : undefined);
  });

  route('GET', '/api/queries/:id', 'queries:read', async (_req, res, p) => {
    const q = await s.queries.get(p.id!);
    if (!q) return sendError(res, 404, `no query "${p.id}"`);
    sendJson(res, 200, q);
  });

  route('PATCH', '/api/queries/:id', 'queries:write', async (req, res, p) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const r = await s.queries.update(p.id!, body.value);
    if (r.ok) return sendJson(res, 200, r.query);
    if ('rejection' in r && r.rejection) return sendJson(res, 400, r.rejection);
    sendError(res, r.status, r.error, 'details' in r ? r.details : undefined);
  });

  route('DELETE', '/api/queries/:id', 'queries:write', async (_req, res, p) => {
    if (!(await s.queries.remove(p.id!))) return sendError(res, 404, `no query "${p.id}"`);
    res.writeHead(204).end();
  });

  route('POST', '/api/queries/:id/backtest', 'queries:read', async (req, res, p) => {
    // An empty body means the defaults (the last hour).
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    let input: unknown = {};
    if (hasBody) {
      const body = await readJsonBody(req);
      if (!body.ok) return sendError(res, body.status, body.error);
      input = body.value;
    }
    const r = await s.queries.backtest(p.id!, input);
    if (!r.ok) return sendError(res, r.status, r.error, r.details);
    sendJson(res, 200, r.result);
  });

  route('GET', '/api/alerts', 'alerts:read', async (_req, res, _p, ctx) => {
    const parsed = alertListQuerySchema.safeParse(Object.fromEntries(ctx.url.searchParams));
    if (!parsed.success) return sendError(res, 400, 'invalid alert filter', formatIssues(parsed.error.issues));
    const f = parsed.data;
    sendJson(
      res,
      200,
      await s.alerts.list({
        limit: f.limit,
        ...(f.since !== undefined ? { since: f.since } : {}),
        ...(f.until !== undefined ? { until: f.until } : {}),
        ...(f.camera !== undefined ? { camera: f.camera } : {}),
        ...(f.query !== undefined ? { query: f.query } : {}),
      }),
    );
  });

  route('GET', '/api/alerts/:id', 'alerts:read', async (_req, res, p) => {
    const a = await s.alerts.get(p.id!);
    if (!a) return sendError(res, 404, `no alert "${p.id}"`);
    sendJson(res, 200, a);
  });

  route('GET', '/api/alerts/:id/snapshot.jpg', 'snapshots:read', async (_req, res, p) => {
    const jpeg = (await s.alerts.snapshot(p.id!)) ?? s.alertSnapshot(p.id!);
    if (!jpeg) return sendError(res, 404, `alert "${p.id}" has no snapshot`);
    res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': jpeg.byteLength, 'cache-control': 'private, max-age=86400, immutable' });
    res.end(jpeg);
  });

  route('POST', '/api/alerts/:id/ack', 'alerts:ack', async (_req, res, p, ctx) => {
    const a = await s.alerts.ack(p.id!, ctx.principal, Date.now());
    if (!a) return sendError(res, 404, `no alert "${p.id}"`);
    if (a.ack) s.onAlertAck({ id: a.id, by: a.ack.by, at: a.ack.at });
    sendJson(res, 200, a);
  });

  route('GET', '/api/webhooks', 'webhooks:read', async (_req, res) => {
    sendJson(res, 200, await s.webhooks.list());
  });

  route('POST', '/api/webhooks', 'webhooks:write', async (req, res) => {
    const body = await readJsonBody(req);
    if (!body.ok) return sendError(res, body.status, body.error);
    const r = await s.webhooks.register(body.value);
    if (!r.ok) return sendError(res, r.status, r.error, r.details);
    // The secret is shown once, here: receivers need it to check signatures.
    sendJson(res, 201, { ...r.webhook, secret: r.secret });
  });

  route('DELETE', '/api/webhooks/:id', 'webhooks:write', async (_req, res, p) => {
    if (!(await s.webhooks.remove(p.id!))) return sendError(res, 404, `no webhook "${p.id}"`);
    res.writeHead(204).end();
  });

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/') && url.pathname !== '/api' && url.pathname !== '/metrics') return false;
    const started = Date.now();
    try {
      const candidates = routes.filter((r) => r.pattern.test(url.pathname));
      if (candidates.length === 0) {
        sendError(res, 404, `no such endpoint: ${url.pathname}`);
        return true;
      }
      const r = candidates.find((c) => c.method === req.method);
      if (!r) {
        res.setHeader('allow', candidates.map((c) => c.method).join(', '));
        sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
        return true;
      }
      const m = r.pattern.exec(url.pathname)!;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1] ?? '');
      });
      const isCamera = url.pathname.startsWith('/api/cameras/');
      if (params.id !== undefined && !(isCamera ? CAMERA_ID_PATTERN : RECORD_ID_PATTERN).test(params.id)) {
        sendError(res, 404, `no ${isCamera ? 'camera' : 'such record'} "${params.id.slice(0, 80)}"`);
        return true;
      }
      // The policy's camera scope: only camera routes name a camera in the path.
      const decision = await s.policy.authorize(req, r.action, isCamera ? params.id : undefined);
      if (!decision.ok) {
        sendError(res, decision.status, decision.error);
        return true;
      }
      await r.handler(req, res, params, { principal: decision.principal.id, url });
    } catch (e) {
      s.log.error({ err: e, method: req.method, path: url.pathname }, 'API handler failed');
      if (!res.headersSent) sendError(res, 500, 'internal error');
      else res.end();
    } finally {
      s.log.debug({ method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started }, 'api');
    }
    return true;
  };
}
