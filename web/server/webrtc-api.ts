import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { readOffer, sendAnswer, webRtcEndpoints, whipHandler, type LiveVideoService, type PublishTokens, type SessionHandler, type WhipHub } from '@chronotrace/media-server';
import { sendError, type Logger } from '@chronotrace/platform';
import type { AccessPolicy } from './auth';
import type { CameraService } from './camera-service';

export interface WebRtcApiServices {
  video: LiveVideoService | null;
  /** WHIP ingest in this process (embedded mode), or null. */
  whip: WhipHub | null;
  /** Distributed mode: the media server that ingests WHIP publishers (MEDIA_URL), proxied to. */
  mediaUrl: string | null;
  cameras: CameraService;
  tokens: PublishTokens;
  policy: AccessPolicy;
  log: Logger;
}

/**
 * WHEP and WHIP endpoints on the web server:
 * - `POST /whep/:camera` with an SDP offer → 201, the SDP answer (every ICE candidate in it: no trickle),
 *   `Location: /whep/:camera/:viewer`; `DELETE` on that location ends it. The redacted live video.
 * - `POST /whip/:camera` with `Authorization: Bearer <publish token>` and an SDP offer (VP8 or H.264) → 201,
 *   the answer, `Location: /whip/:camera/:session`; `DELETE` (same token) ends the publishing. Served here
 *   when ingest runs in this process (embedded), else proxied to the media server (distributed).
 * Returns a listener that answers /whep/* and /whip/* and reports whether it did.
 */
export function createWebRtcApi(s: WebRtcApiServices): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  const whip: SessionHandler = s.whip
    ? whipHandler({ hub: s.whip, cameraSource: async (id) => (await s.cameras.get(id))?.source ?? null, tokens: s.tokens })
    : s.mediaUrl
      ? proxyTo(s.mediaUrl, s.log)
      : async (_req, res) => sendError(res, 503, 'this server takes no WHIP publishers: set MEDIA_URL to the media server');
  return webRtcEndpoints({ whep: whepHandler(s), whip }, s.log);
}

/** Forwards a WHIP request to the media server as it came (method, path, token, SDP) and its answer back. */
function proxyTo(base: string, log: Logger): SessionHandler {
  return (req, res) =>
    new Promise<void>((resolve) => {
      const target = new URL(req.url ?? '/', base);
      const headers: Record<string, string> = {};
      for (const h of ['authorization', 'content-type', 'content-length']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const out = httpRequest(target, { method: req.method, headers, timeout: 15_000 }, (answer) => {
        const keep: Record<string, string> = {};
        for (const h of ['content-type', 'location', 'www-authenticate', 'allow', 'cache-control']) {
          const v = answer.headers[h];
          if (typeof v === 'string') keep[h] = v;
        }
        res.writeHead(answer.statusCode ?? 502, keep);
        answer.pipe(res);
        answer.on('end', () => resolve());
        answer.on('error', () => resolve());
      });
      out.on('timeout', () => out.destroy(new Error('timeout')));
      out.on('error', (err) => {
        log.warn({ err, target: target.origin }, 'media server unreachable for WHIP');
        if (!res.headersSent) sendError(res, 502, `the media server (${target.origin}) did not answer: ${err.message}`);
        else res.end();
        resolve();
      });
      req.pipe(out);
    });
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
