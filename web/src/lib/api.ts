import type {
  Alert,
  ApiError,
  BacktestResult,
  CameraConfigInput,
  CameraView,
  NewQueryInput,
  PublishTokenIssued,
  QueryCompileResult,
  QueryError,
  QueryPatchInput,
  QueryRejection,
  StandingQuery,
  SearchResponse,
  RecordingIndexResponse,
  TimelineResponse,
  Identity,
  ActivityReport,
  AnomalyCounts,
} from '@chronotrace/contracts';

/**
 * Expected outcomes of a REST call are values; the wall shows `error` and `details` inline.
 * `body` is the parsed error body, for endpoints whose errors say more than error/details.
 */
export type ApiResult<T> = { ok: true; value: T } | { ok: false; status: number; error: string; details: string[]; body: unknown };

/** Saving a query: a failure may be a text the compiler did not understand (`rejection`). */
export type QuerySaveResult =
  | { ok: true; value: StandingQuery }
  | { ok: false; status: number; error: string; details: string[]; rejection: QueryError | null };

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

/** A new WHIP publish token for a WebRTC camera (replaces the previous one). */
export function issuePublishToken(camera: string): Promise<ApiResult<PublishTokenIssued>> {
  return call<PublishTokenIssued>(`/api/cameras/${encodeURIComponent(camera)}/publish-token`, { method: 'POST' });
}

export function compileQuery(text: string, signal?: AbortSignal): Promise<ApiResult<QueryCompileResult>> {
  return call<QueryCompileResult>('/api/queries/compile', jsonInit('POST', { text }, signal));
}

export function listQueries(signal?: AbortSignal): Promise<ApiResult<StandingQuery[]>> {
  return call<StandingQuery[]>('/api/queries', { signal });
}

export async function createQuery(query: NewQueryInput): Promise<QuerySaveResult> {
  return withRejection(await call<StandingQuery>('/api/queries', jsonInit('POST', query)));
}

export async function updateQuery(id: string, patch: QueryPatchInput): Promise<QuerySaveResult> {
  return withRejection(await call<StandingQuery>(`/api/queries/${encodeURIComponent(id)}`, jsonInit('PATCH', patch)));
}

export function deleteQuery(id: string): Promise<ApiResult<null>> {
  return call<null>(`/api/queries/${encodeURIComponent(id)}`, { method: 'DELETE' });
}

/** Replays the stored scene over [from, to) (ms epoch); the server defaults to the last hour. */
export function backtestQuery(id: string, range: { from?: number; to?: number } = {}): Promise<ApiResult<BacktestResult>> {
  return call<BacktestResult>(`/api/queries/${encodeURIComponent(id)}/backtest`, jsonInit('POST', range));
}

export interface AlertFilter {
  since?: number;
  camera?: string;
  query?: string;
  /** Server default 100, at most 1000. */
  limit?: number;
}

/** Alerts, newest first. */
export function listAlerts(filter: AlertFilter = {}, signal?: AbortSignal): Promise<ApiResult<Alert[]>> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v !== undefined) params.set(k, String(v));
  const qs = params.toString();
  return call<Alert[]>(qs ? `/api/alerts?${qs}` : '/api/alerts', { signal });
}

export function ackAlert(id: string): Promise<ApiResult<Alert>> {
  return call<Alert>(`/api/alerts/${encodeURIComponent(id)}/ack`, jsonInit('POST', {}));
}

/** The redacted JPEG of the frame that fired (when `alert.hasSnapshot`). */
export function alertSnapshotUrl(id: string): string {
  return `/api/alerts/${encodeURIComponent(id)}/snapshot.jpg`;
}

/** One line for an error banner: the message and its per-field details. */
/** GET /api/search: a refusal of the compiler comes back as `body` (a QueryError). */
export function searchHistory(params: URLSearchParams, signal?: AbortSignal): Promise<ApiResult<SearchResponse>> {
  return call<SearchResponse>(`/api/search?${params}`, { signal });
}

/** One camera's stored segments in a range. */
export type RecordingIndex = RecordingIndexResponse;

export function recordingIndex(camera: string, from: number, to: number, signal?: AbortSignal): Promise<ApiResult<RecordingIndex>> {
  return call<RecordingIndex>(`/api/cameras/${encodeURIComponent(camera)}/recording?from=${Math.round(from)}&to=${Math.round(to)}`, { signal });
}

export type Timeline = TimelineResponse;

export function cameraTimeline(camera: string, from: number, to: number, signal?: AbortSignal): Promise<ApiResult<Timeline>> {
  return call<Timeline>(`/api/cameras/${encodeURIComponent(camera)}/timeline?from=${Math.round(from)}&to=${Math.round(to)}`, { signal });
}

/** A person followed across cameras, named by any of their tracks. */
export function getIdentity(track: string, signal?: AbortSignal): Promise<ApiResult<Identity>> {
  return call<Identity>(`/api/identities/${encodeURIComponent(track)}`, { signal });
}

/** A camera's heatmap, line crossings and zone occupancy over a span (`lines` adds lines drawn now). */
export function cameraActivity(camera: string, params: { from: number; to: number; bucket?: number; lines?: string }, signal?: AbortSignal): Promise<ApiResult<ActivityReport>> {
  const p = new URLSearchParams({ from: String(Math.round(params.from)), to: String(Math.round(params.to)) });
  if (params.bucket) p.set('bucket', String(params.bucket));
  if (params.lines) p.set('lines', params.lines);
  return call<ActivityReport>(`/api/cameras/${encodeURIComponent(camera)}/activity?${p}`, { signal });
}

/** Anomalies fired per day (in the browser's time zone). */
export function anomalyCounts(days: number, camera?: string, signal?: AbortSignal): Promise<ApiResult<AnomalyCounts>> {
  const p = new URLSearchParams({ days: String(days), tz: Intl.DateTimeFormat().resolvedOptions().timeZone });
  if (camera) p.set('camera', camera);
  return call<AnomalyCounts>(`/api/analytics/anomalies?${p}`, { signal });
}

export function recordingPlaylistUrl(camera: string, from: number, to: number): string {
  return `/api/cameras/${encodeURIComponent(camera)}/recording.m3u8?from=${Math.round(from)}&to=${Math.round(to)}`;
}

export function errorText(res: { error: string; details: string[] }): string {
  return res.details.length > 0 ? `${res.error}: ${res.details.join('; ')}` : res.error;
}

function jsonInit(method: string, body: unknown, signal?: AbortSignal): RequestInit {
  return { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal };
}

function withRejection(res: ApiResult<StandingQuery>): QuerySaveResult {
  if (res.ok) return res;
  const { status, error, details, body } = res;
  if (status !== 400 || !isQueryRejection(body)) return { ok: false, status, error, details, rejection: null };
  return { ok: false, status, error, details, rejection: { error: body.error, code: body.code, unknownTerms: body.unknownTerms, suggestions: body.suggestions } };
}

function isQueryRejection(v: unknown): v is QueryRejection {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Partial<Record<keyof QueryRejection, unknown>>;
  return typeof r.error === 'string' && typeof r.code === 'string' && Array.isArray(r.unknownTerms) && typeof r.suggestions === 'object' && r.suggestions !== null;
}

async function call<T>(url: string, init: RequestInit): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, headers: { accept: 'application/json', ...init.headers } });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    return { ok: false, status: 0, error: 'The server could not be reached', details: [], body: null };
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
    body,
  };
}

function isApiError(v: unknown): v is ApiError {
  return typeof v === 'object' && v !== null && typeof (v as { error?: unknown }).error === 'string';
}
