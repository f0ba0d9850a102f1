import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAMERA_ID_PATTERN, type CameraRecord, type CameraView, type SystemHealth } from '@chronotrace/contracts';
import type { Logger } from '@chronotrace/platform';
import type { AccessPolicy, ApiAction } from './auth';
import { redactSource, type CameraService } from './camera-service';
import type { HealthBoard } from './health-board';
import { readJsonBody, sendError, sendJson } from './http-json';

export interface ApiServices {
  cameras: CameraService;
  health: HealthBoard;
  snapshot(camera: string): Promise<{ jpeg: Uint8Array; meta: { capturedAt: number } } | null>;
  system(): Promise<SystemHealth>;
  policy: AccessPolicy;
  log: Logger;
}

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

type Handler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>) => Promise<void>;

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

  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/api/') && url.pathname !== '/api') return false;
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
      if (params.id !== undefined && !CAMERA_ID_PATTERN.test(params.id)) {
        sendError(res, 404, `no camera "${params.id.slice(0, 80)}"`);
        return true;
      }
      const decision = await s.policy.authorize(req, r.action, params.id);
      if (!decision.ok) {
        sendError(res, decision.status, decision.error);
        return true;
      }
      await r.handler(req, res, params);
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
