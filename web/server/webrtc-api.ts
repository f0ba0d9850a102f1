import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAMERA_ID_PATTERN } from '@chronotrace/contracts';
import { WebRtcRequestError, type LiveVideoService } from '@chronotrace/media-server';
import type { Logger } from '@chronotrace/platform';
import type { AccessPolicy } from './auth';
import { readTextBody, sendError } from './http-json';

/** Largest SDP offer read. */
const MAX_SDP_BYTES = 64 * 1024;
const VIEWER_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface WebRtcApiServices {
  video: LiveVideoService | null;
  policy: AccessPolicy;
  log: Logger;
}

/**
 * WHEP (RFC 9725 style) for the redacted live video:
 * `POST /whep/:camera` with an SDP offer → 201, the SDP answer (every ICE candidate in it: no trickle),
 * `Location: /whep/:camera/:viewer`; `DELETE` on that location ends it. Errors are the API's JSON.
 * Returns a listener that answers /whep/* and reports whether it did.
 */
export function createWebRtcApi(s: WebRtcApiServices): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'whep') return false;
    try {
      const camera = decodeURIComponent(parts[1] ?? '');
      const viewer = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);
      if (parts.length < 2 || parts.length > 3 || !CAMERA_ID_PATTERN.test(camera) || (viewer !== undefined && !VIEWER_ID.test(viewer))) {
        sendError(res, 404, `no such endpoint: ${url.pathname.slice(0, 120)}`);
        return true;
      }
      const allowed = viewer === undefined ? ['POST'] : ['DELETE'];
      if (!allowed.includes(req.method ?? '')) {
        res.setHeader('allow', allowed.join(', '));
        const why = req.method === 'PATCH' ? ': trickle ICE is not supported, the answer carries every candidate' : '';
        sendError(res, 405, `${req.method} is not allowed on ${url.pathname}${why}`);
        return true;
      }
      const decision = await s.policy.authorize(req, 'video:read', camera);
      if (!decision.ok) {
        sendError(res, decision.status, decision.error);
        return true;
      }
      const video = s.video;
      if (!video) {
        sendError(res, 503, 'live video over WebRTC is off on this server (WEBRTC=off): use the JPEG wall');
        return true;
      }
      if (viewer !== undefined) {
        if (video.viewerCamera(viewer) !== camera) {
          sendError(res, 404, `no viewer "${viewer}" of camera "${camera}"`);
          return true;
        }
        await video.closeViewer(viewer);
        res.writeHead(204).end();
        return true;
      }
      const body = await readTextBody(req, 'application/sdp', MAX_SDP_BYTES);
      if (!body.ok) {
        sendError(res, body.status, body.error);
        return true;
      }
      const answer = await video.createViewer(camera, body.value);
      res.writeHead(201, {
        'content-type': 'application/sdp',
        location: `/whep/${encodeURIComponent(camera)}/${answer.id}`,
        'cache-control': 'no-store',
      });
      res.end(answer.sdp);
    } catch (e) {
      if (e instanceof WebRtcRequestError) sendError(res, e.status, e.message);
      else {
        s.log.error({ err: e, method: req.method, path: url.pathname }, 'WHEP handler failed');
        if (!res.headersSent) sendError(res, 500, 'internal error');
        else res.end();
      }
    }
    return true;
  };
}
