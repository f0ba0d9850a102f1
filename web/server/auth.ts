import type { IncomingMessage } from 'node:http';

/** What a request wants to do; roles and per-camera scopes map onto these later. */
export type ApiAction =
  | 'health:read'
  | 'cameras:read'
  | 'cameras:write'
  | 'snapshots:read'
  | 'queries:read'
  | 'queries:write'
  | 'alerts:read'
  | 'alerts:ack'
  | 'webhooks:read'
  | 'webhooks:write'
  /** Search, play back and read the timeline of recorded history. */
  | 'history:read'
  /** Upload videos to be processed, cancel their jobs. */
  | 'videos:write'
  /** Export evidence (a clip and its incident report), and read exports. */
  | 'exports:write'
  | 'exports:read'
  /** Watch a camera's live video (WHEP). */
  | 'video:read';

export interface Principal {
  id: string;
  roles: readonly string[];
}

export type AuthDecision = { ok: true; principal: Principal } | { ok: false; status: 401 | 403; error: string };

/**
 * The seam every API handler sits behind. Handlers never look at credentials themselves,
 * so JWT/API-key policies with roles and camera scopes can replace this without touching them.
 */
export interface AccessPolicy {
  authorize(req: IncomingMessage, action: ApiAction, camera?: string): Promise<AuthDecision>;
}

/**
 * No authentication configured: every request acts as the local operator. This is the
 * embedded default for a wall bound to 127.0.0.1.
 */
export class OpenAccessPolicy implements AccessPolicy {
  private readonly principal: Principal = { id: 'local', roles: ['admin'] };
  async authorize(): Promise<AuthDecision> {
    return { ok: true, principal: this.principal };
  }
}
