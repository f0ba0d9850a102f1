import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAMERA_ID_PATTERN } from '@chronotrace/contracts';
import { WebRtcRequestError, type LiveVideoService, type WhipHub } from '@chronotrace/media-server';
import type { Logger } from '@chronotrace/platform';
import type { AccessPolicy } from './auth';
import type { CameraService } from './camera-service';
import { readTextBody, sendError } from './http-json';
import type { PublishTokens } from './publish-tokens';

/** Largest SDP offer read. */
const MAX_SDP_BYTES = 64 * 1024;
const VIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface WebRtcApiServices {
  video: LiveVideoService | null;
  /** WHIP ingest in this process (embedded mode), or null. */
  whip: WhipHub | null;
  cameras: CameraService;
  tokens: PublishTokens;
  policy: AccessPolicy;
  log: Logger;
}

/**
 * WHEP and WHIP (RFC 9725 / RFC 9725-style) endpoints:
 * - `POST /whep/:camera` with an SDP offer → 201, the SDP answer (every ICE candidate in it: no trickle),
 *   `Location: /whep/:camera/:viewer`; `DELETE` on that location ends it. The redacted live video.
 * - `POST /whip/:camera` with `Authorization: Bearer <publish token>` and an SDP offer (VP8 or H.264) → 201,
 *   the answer, `Location: /whip/:camera/:session`; `DELETE` (same token) ends the publishing.
 * Errors are the API's JSON. Returns a listener that answers /whep/* and /whip/* and reports whether it did.
 */
export function createWebRtcApi(s: WebRtcApiServices): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const whep = whepHandler(s);
  const whip = whipHandler(s);
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'whep' && parts[0] !== 'whip') return false;
    try {
      const camera = decodeURIComponent(parts[1] ?? '');
      const session = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);
      if (parts.length < 2 || parts.length > 3 || !CAMERA_ID_PATTERN.test(camera) || (session !== undefined && !VIEWER_ID.test(session))) {
        sendError(res, 404, `no such endpoint: ${url.pathname.slice(0, 120)}`);
        return true;
      }
      const allowed = session === undefined ? ['POST'] : ['DELETE'];
      if (!allowed.includes(req.method ?? '')) {
        res.setHeader('allow', allowed.join(', '));
        const why = req.method === 'PATCH' ? ': trickle ICE is not supported, the answer carries every candidate' : '';
        sendError(res, 405, `${req.method} is not allowed on ${url.pathname}${why}`);
        return true;
      }
      await (parts[0] === 'whep' ? whep : whip)(req, res, camera, session);
    } catch (e) {
      if (e instanceof WebRtcRequestError) sendError(res, e.status, e.message);
      else {
        s.log.error({ err: e, method: req.method, path: url.pathname }, 'WebRTC handler failed');
        if (!res.headersSent) sendError(res, 500, 'internal error');
        else res.end();
      }
    }
    return true;
  };
}

type SessionHandler = (req: IncomingMessage, res: ServerResponse, camera: string, session: string | undefined) => Promise<void>;

async function readOffer(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  const body = await readTextBody(req, 'application/sdp', MAX_SDP_BYTES);
  if (body.ok) return body.value;
  sendError(res, body.status, body.error);
  return null;
}

function sendAnswer(res: ServerResponse, location: string, sdp: string): void {
  res.writeHead(201, { 'content-type': 'application/sdp', location, 'cache-control': 'no-store' });
  res.end(sdp);
}

function whipHandler(s: WebRtcApiServices): SessionHandler {
  return async (req, res, camera, session) => {
    const hub = s.whip;
    if (!hub) return sendError(res, 503, 'this server takes no WHIP publishers (WebRTC ingest runs with ingest, in embedded mode)');
    const rec = await s.cameras.get(camera);
    if (!rec) return sendError(res, 404, `no camera "${camera}"`);
    if (rec.source !== 'webrtc') return sendError(res, 409, `camera "${camera}" is not a WebRTC camera (its source is not "webrtc")`);
    const check = await s.tokens.check(camera, req.headers.authorization);
    if (!check.ok) {
      res.setHeader('www-authenticate', 'Bearer realm="whip"');
      return sendError(res, 401, check.reason);
    }
    if (session !== undefined) {
      if (!(await hub.unpublish(camera, session))) return sendError(res, 404, `no publishing session "${session}" of camera "${camera}"`);
      res.writeHead(204).end();
      return;
    }
    const offer = await readOffer(req, res);
    if (offer === null) return;
    const answer = await hub.publish(camera, offer);
    sendAnswer(res, `/whip/${encodeURIComponent(camera)}/${answer.id}`, answer.sdp);
  };
}

function whepHandler(s: WebRtcApiServices): SessionHandler {
  return async (req, res, camera, viewer) => {
    const decision = await s.policy.authorize(req, 'video:read', camera);
    if (!decision.ok) return sendError(res, decision.status, decision.error);
    const video = s.video;
    if (!video) return sendError(res, 503, 'live video over WebRTC is off on this server (WEBRTC=off): use the JPEG wall');
    if (viewer !== undefined) {
      if (video.viewerCamera(viewer) !== camera) return sendError(res, 404, `no viewer "${viewer}" of camera "${camera}"`);
      await video.closeViewer(viewer);
      res.writeHead(204).end();
      return;
    }
    const offer = await readOffer(req, res);
    if (offer === null) return;
    const answer = await video.createViewer(camera, offer);
    sendAnswer(res, `/whep/${encodeURIComponent(camera)}/${answer.id}`, answer.sdp);
  };
}
