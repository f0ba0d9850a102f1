import type { ApiError, CameraConfigInput, CameraView } from '@chronotrace/contracts';

/** Expected outcomes of a REST call are values; the wall shows `error` and `details` inline. */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number; error: string; details: string[] };

/** The fields the "Add camera" form sends to POST /api/cameras. */
export type NewCamera = Pick<CameraConfigInput, 'id' | 'name' | 'location' | 'source'>;

export function snapshotUrl(camera: string): string {
  return `/api/cameras/${encodeURIComponent(camera)}/snapshot.jpg`;
}

export function listCameras(signal?: AbortSignal): Promise<ApiResult<CameraView[]>> {
  return call<CameraView[]>('/api/cameras', { signal });
}

export function addCamera(camera: NewCamera): Promise<ApiResult<CameraView>> {
  return call<CameraView>('/api/cameras', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(camera),
  });
}

export function removeCamera(camera: string): Promise<ApiResult<null>> {
  return call<null>(`/api/cameras/${encodeURIComponent(camera)}`, { method: 'DELETE' });
}

async function call<T>(url: string, init: RequestInit): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    return { ok: false, status: 0, error: 'The server could not be reached', details: [] };
  }
  const text = await res.text();
  let body: unknown = null;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (res.ok) return { ok: true, value: body as T };
  const err = isApiError(body) ? body : null;
  return {
    ok: false,
    status: res.status,
    error: err?.error ?? `${res.status} ${res.statusText || 'request failed'}`,
    details: err?.details?.filter((d): d is string => typeof d === 'string') ?? [],
  };
}

function isApiError(v: unknown): v is ApiError {
  return typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string';
}
