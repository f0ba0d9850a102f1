import type { IncomingMessage, ServerResponse } from 'node:http';
import { CAMERA_ID_PATTERN } from '@chronotrace/contracts';
import { readTextBody, sendError, type Logger } from '@chronotrace/platform';
import type { PublishTokens } from './publish-tokens';
import { WebRtcRequestError } from './webrtc-config';
import type { WhipHub } from './whip-hub';

/** Largest SDP offer read. */
const MAX_SDP_BYTES = 64 * 1024;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Answers `POST /<kind>/:camera` (session undefined) or `DELETE /<kind>/:camera/:session`. */
export type SessionHandler = (req: IncomingMessage, res: ServerResponse, camera: string, session: string | undefined) => Promise<void>;

/**
 * The WHEP/WHIP URL scheme (RFC 9725 style): `POST /<kind>/:camera` with an SDP offer → 201 answer with
 * `Location: /<kind>/:camera/:session`; `DELETE` on it ends the session; no trickle ICE (PATCH → 405).
 * Bad paths 404, other methods 405, WebRtcRequestError → its status, anything else 500; errors are the
 * API's JSON. Returns a listener that answers the given kinds and reports whether it did.
 */
export function webRtcEndpoints(handlers: Partial<Record<'whep' | 'whip', SessionHandler>>, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<boolean> {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean);
    const kind = parts[0];
    const handler = kind === 'whep' || kind === 'whip' ? handlers[kind] : undefined;
    if (!handler) return false;
    try {
      const camera = decodeURIComponent(parts[1] ?? '');
      const session = parts[2] === undefined ? undefined : decodeURIComponent(parts[2]);
      if (parts.length < 2 || parts.length > 3 || !CAMERA_ID_PATTERN.test(camera) || (session !== undefined && !SESSION_ID.test(session))) {
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
      await handler(req, res, camera, session);
    } catch (e) {
      if (e instanceof WebRtcRequestError) sendError(res, e.status, e.message);
      else {
        log.error({ err: e, method: req.method, path: url.pathname }, 'WebRTC handler failed');
        if (!res.headersSent) sendError(res, 500, 'internal error');
        else res.end();
      }
    }
    return true;
  };
}

/** The SDP offer of a request, or null once a 4xx has been sent. */
export async function readOffer(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  const body = await readTextBody(req, 'application/sdp', MAX_SDP_BYTES);
  if (body.ok) return body.value;
  sendError(res, body.status, body.error);
  return null;
}

export function sendAnswer(res: ServerResponse, location: string, sdp: string): void {
  res.writeHead(201, { 'content-type': 'application/sdp', location, 'cache-control': 'no-store' });
  res.end(sdp);
}

export interface WhipHandlerServices {
  hub: WhipHub;
  /** A camera's source, or null when there is no such camera. */
  cameraSource: (camera: string) => Promise<string | null>;
  tokens: PublishTokens;
}

/** WHIP: the camera must exist, be a `webrtc` camera, and the request carry its publish token (Bearer). */
export function whipHandler(s: WhipHandlerServices): SessionHandler {
  return async (req, res, camera, session) => {
    const source = await s.cameraSource(camera);
    if (source === null) return sendError(res, 404, `no camera "${camera}"`);
    if (source !== 'webrtc') return sendError(res, 409, `camera "${camera}" is not a WebRTC camera (its source is not "webrtc")`);
    const check = await s.tokens.check(camera, req.headers.authorization);
    if (!check.ok) {
      res.setHeader('www-authenticate', 'Bearer realm="whip"');
      return sendError(res, 401, check.reason);
    }
    if (session !== undefined) {
      if (!(await s.hub.unpublish(camera, session))) return sendError(res, 404, `no publishing session "${session}" of camera "${camera}"`);
      res.writeHead(204).end();
      return;
    }
    const offer = await readOffer(req, res);
    if (offer === null) return;
    const answer = await s.hub.publish(camera, offer);
    sendAnswer(res, `/whip/${encodeURIComponent(camera)}/${answer.id}`, answer.sdp);
  };
}
