import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '@chronotrace/platform';

/** The SHA-256 (hex) a token is stored as. A 32-byte random token needs no slow hash: it cannot be guessed. */
export function hashPublishToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export type TokenCheck = { ok: true } | { ok: false; reason: string };

/**
 * WHIP publish tokens of WebRTC cameras: issued (and re-issued, which revokes the old one) by an operator,
 * shown once, stored only as their hash, checked in constant time.
 */
export class PublishTokens {
  constructor(private readonly store: Store) {}

  /** A new token for the camera (replacing any earlier one), or null when there is no such camera. */
  async issue(camera: string): Promise<{ token: string; createdAt: number } | null> {
    const token = `ctp_${randomBytes(32).toString('base64url')}`;
    const createdAt = Date.now();
    const stored = await this.store.publishTokens.put({ camera, tokenHash: hashPublishToken(token), createdAt });
    return stored ? { token, createdAt } : null;
  }

  revoke(camera: string): Promise<boolean> {
    return this.store.publishTokens.delete(camera);
  }

  /** Checks an `Authorization: Bearer <token>` header against the camera's token. */
  async check(camera: string, authorization: string | undefined): Promise<TokenCheck> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!m) return { ok: false, reason: 'send the camera\'s publish token as "Authorization: Bearer <token>"' };
    const record = await this.store.publishTokens.get(camera);
    if (!record) return { ok: false, reason: `camera "${camera}" has no publish token: issue one (POST /api/cameras/${camera}/publish-token)` };
    const given = Buffer.from(hashPublishToken(m[1]!), 'hex');
    const want = Buffer.from(record.tokenHash, 'hex');
    return given.length === want.length && timingSafeEqual(given, want) ? { ok: true } : { ok: false, reason: 'the publish token is wrong or was replaced' };
  }
}
