import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from '@chronotrace/contracts';

/** Largest JSON body the API reads; anything bigger is refused with 413 before it is buffered. */
export const MAX_JSON_BODY_BYTES = 64 * 1024;

export type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413 | 415; error: string };

export async function readJsonBody(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<BodyResult> {
  const text = await readTextBody(req, 'application/json', limit);
  if (!text.ok) return text;
  try {
    return { ok: true, value: JSON.parse(text.value) as unknown };
  } catch (e) {
    return { ok: false, status: 400, error: `request body is not valid JSON: ${(e as Error).message}` };
  }
}

export type TextBodyResult = { ok: true; value: string } | { ok: false; status: 400 | 413 | 415; error: string };

/** A text body of one content type (e.g. application/sdp), at most `limit` bytes. */
export async function readTextBody(req: IncomingMessage, contentType: string, limit: number): Promise<TextBodyResult> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== contentType) return { ok: false, status: 415, error: `request body must be ${contentType}` };
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    req.resume();
    return { ok: false, status: 413, error: `request body is larger than ${limit} bytes` };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      req.resume();
      return { ok: false, status: 413, error: `request body is larger than ${limit} bytes` };
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: false, status: 400, error: 'request body is empty' };
  return { ok: true, value: text };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

export function sendError(res: ServerResponse, status: number, error: string, details?: string[]): void {
  const body: ApiError = details && details.length ? { error, details } : { error };
  sendJson(res, status, body);
}

/** A time query parameter: ms since the epoch or ISO 8601; `fallback` when absent or empty; a message naming it when unreadable. */
export function timeParam(v: string | null | undefined, name: string, fallback: number): number | string {
  if (v === null || v === undefined || v === '') return fallback;
  const n = /^\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) ? n : `${name}: "${v.slice(0, 40)}" is neither ms since the epoch nor an ISO 8601 time`;
}
