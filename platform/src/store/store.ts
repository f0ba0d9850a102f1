import type { AlertKind, ReidLink, VideoJob, EvidenceExport, ColorPart, RecordingHold, RecordingSegment, TrackSummary, Alert, AlertMessage, CameraHealth, CameraRecord, RedactedFrameMeta, Box, ModelVersion, SceneTrack, StandingQuery, Track, Webhook, WebhookPayload } from '@chronotrace/contracts';

/** One frame's redaction, kept as the audit trail of what was hidden and by which models. */
export interface RedactionRecord {
  frameId: string;
  camera: string;
  capturedAt: number;
  redactedAt: number;
  faces: Box[];
  plates: Box[];
  /** Head regions of detected persons. */
  heads: Box[];
  method: 'pixelate' | 'blur';
  models: ModelVersion[];
  ms: number;
}

export interface Snapshot {
  meta: RedactedFrameMeta;
  jpeg: Uint8Array;
}

export interface CameraRepository {
  list(): Promise<CameraRecord[]>;
  get(id: string): Promise<CameraRecord | null>;
  /** Insert; returns false (and changes nothing) when the id exists. */
  insert(camera: CameraRecord): Promise<boolean>;
  /** Insert or replace. */
  upsert(camera: CameraRecord): Promise<void>;
  /** Returns false when there was no such camera. */
  delete(id: string): Promise<boolean>;
}

export interface HealthEventRepository {
  append(health: CameraHealth): Promise<void>;
  /** Appends only if the camera's newest stored event has a different state; true when it stored one. */
  appendIfStateChanged(health: CameraHealth): Promise<boolean>;
  /** Newest first. */
  list(camera: string, limit?: number): Promise<CameraHealth[]>;
}

export interface RedactionRepository {
  /** One batch, idempotent on frameId (a redelivered frame, or one twice in the batch, does not create a second record). */
  append(records: readonly RedactionRecord[]): Promise<void>;
  /** Newest first. */
  list(camera: string, limit?: number): Promise<RedactionRecord[]>;
  count(camera?: string): Promise<number>;
}

export interface SnapshotRepository {
  /** Keeps only the newest frame per camera (by capturedAt: an older, late frame does not replace a newer one). */
  putLatest(snapshot: Snapshot): Promise<void>;
  getLatest(camera: string): Promise<Snapshot | null>;
  delete(camera: string): Promise<void>;
}

export interface QueryRepository {
  /** Insert; false (nothing changed) when the id exists. */
  insert(query: StandingQuery): Promise<boolean>;
  /** Replace the stored query if its version is `expectedVersion`; false when it is gone or was changed meanwhile. */
  update(query: StandingQuery, expectedVersion: number): Promise<boolean>;
  get(id: string): Promise<StandingQuery | null>;
  /** Oldest first. */
  list(options?: { armed?: boolean }): Promise<StandingQuery[]>;
  delete(id: string): Promise<boolean>;
  /** Changes whenever any query is created, edited or deleted: cheap to poll. */
  fingerprint(): Promise<string>;
}

export interface AlertFilter {
  since?: number;
  until?: number;
  camera?: string;
  query?: string;
  limit?: number;
}

export interface AlertRepository {
  /** Idempotent on the alert id; true when it stored a new alert. */
  append(alert: AlertMessage, snapshot: Uint8Array | null): Promise<boolean>;
  get(id: string): Promise<Alert | null>;
  /** Newest capture first. */
  list(filter?: AlertFilter): Promise<Alert[]>;
  snapshot(id: string): Promise<Uint8Array | null>;
  /** Sets the acknowledgement once; returns the alert (first ack kept), null when unknown. */
  ack(id: string, by: string, at: number): Promise<Alert | null>;
  count(): Promise<number>;
  /** Alerts per hour (ms epoch of the hour's start) and kind, captured in [since, until), of one camera or all. */
  countsByHour(since: number, until: number, camera?: string): Promise<{ hour: number; kind: AlertKind; count: number }[]>;
}

/** One analysed frame's tracks as stored for search and backtests. */
export interface SceneFrameRecord {
  frameId: string;
  camera: string;
  capturedAt: number;
  width: number;
  height: number;
  tracks: SceneTrack[];
}

/** An image embedding of one redacted frame. */
export interface FrameEmbeddingRecord {
  frameId: string;
  camera: string;
  capturedAt: number;
  model: string;
  vector: Float32Array;
}

export interface SceneRepository {
  /** Idempotent on frameId. */
  appendEmbedding(e: FrameEmbeddingRecord): Promise<void>;
  /** Embeddings of one model with from ≤ capturedAt < to, oldest first. */
  embeddings(range: { from: number; to: number; model: string; cameras?: string[]; limit?: number }): Promise<FrameEmbeddingRecord[]>;
  /** One batch, idempotent on frameId (a frame already stored, or twice in the batch, is kept once). */
  appendFrames(frames: readonly SceneFrameRecord[]): Promise<void>;
  /** Frames with from ≤ capturedAt < to, oldest first, of these cameras (all when omitted), at most `limit`. */
  frames(range: { from: number; to: number; cameras?: string[]; limit?: number }): Promise<SceneFrameRecord[]>;
  /** Insert or update a track (on start and on end). */
  upsertTracks(tracks: readonly { track: Track; ended: boolean }[]): Promise<void>;
  /** Newest first. */
  tracks(camera: string, limit?: number): Promise<(Track & { ended: boolean })[]>;
  /** Deletes a camera's frames, embeddings and tracks (a purged upload). */
  deleteCamera(camera: string): Promise<void>;
  /** Deletes frames (and their embeddings, and tracks that ended) from before `before`; returns how many frames. */
  pruneFrames(before: number): Promise<number>;
}

export interface WebhookRecord extends Webhook {
  secret: string;
}

export interface WebhookDelivery {
  id: string;
  webhookId: string;
  alertId: string;
  payload: WebhookPayload;
  status: 'pending' | 'delivered';
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  deliveredAt: number | null;
}

export interface DeadLetter {
  id: string;
  webhookId: string;
  alertId: string;
  payload: WebhookPayload;
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  createdAt: number;
  deadAt: number;
}

export interface WebhookRepository {
  insert(webhook: WebhookRecord): Promise<void>;
  list(): Promise<WebhookRecord[]>;
  get(id: string): Promise<WebhookRecord | null>;
  /** Deletes the webhook and its pending deliveries. */
  delete(id: string): Promise<boolean>;
  /** Queue a delivery; idempotent on (webhook, alert). True when it queued a new one. */
  enqueue(delivery: { id: string; webhookId: string; alertId: string; payload: WebhookPayload; at: number }): Promise<boolean>;
  /**
   * Claims up to `limit` pending deliveries due at `now`: their next attempt moves to now + leaseMs and
   * attempts is incremented, so another dispatcher (replica) does not take them meanwhile.
   */
  claimDue(now: number, leaseMs: number, limit: number): Promise<WebhookDelivery[]>;
  markDelivered(id: string, at: number, status: number): Promise<void>;
  /** Gives claimed deliveries back untried (a dispatcher shutting down): due again at `now`, the claim's attempt not counted. */
  release(ids: readonly string[], now: number): Promise<void>;
  /** Schedule the next attempt after a failure. */
  retryLater(id: string, nextAttemptAt: number, error: string, status: number | null): Promise<void>;
  /** Move a delivery to the dead letters after its last try. */
  moveToDeadLetters(id: string, at: number, error: string, status: number | null): Promise<void>;
  deliveries(options?: { webhookId?: string; alertId?: string }): Promise<WebhookDelivery[]>;
  deadLetters(webhookId?: string): Promise<DeadLetter[]>;
  /** Deletes deliveries delivered before `before` (the outbox keeps pending ones and the dead letters stay); returns how many. */
  pruneDelivered(before: number): Promise<number>;
}

/** Port: metadata, events and audit. Implementations: PgliteStore (embedded), PostgresStore (distributed); same SQL migrations. */
/** A WebRTC camera's WHIP publish token, as its SHA-256 hash (hex). */
export interface PublishTokenRecord {
  camera: string;
  tokenHash: string;
  createdAt: number;
}

export interface PublishTokenRepository {
  /** Sets (or replaces) a camera's token; false when there is no such camera. Deleting the camera deletes it. */
  put(record: PublishTokenRecord): Promise<boolean>;
  get(camera: string): Promise<PublishTokenRecord | null>;
  delete(camera: string): Promise<boolean>;
}

/** A named lease: held by `owner` until `expiresAt` (ms epoch, the database's clock). */
export interface Lease {
  name: string;
  owner: string;
  expiresAt: number;
}

/** Leases for work that one process at a time must own (a camera's privacy state), with expiry on the database's clock. */
export interface LeaseRepository {
  /** Takes the lease for ttlMs if it is free, expired or already ours (then it is renewed); true when we hold it. */
  acquire(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease up if we hold it. */
  release(name: string, owner: string): Promise<boolean>;
  /** Unexpired leases whose name starts with `prefix`, by name. */
  live(prefix: string): Promise<Lease[]>;
}

export interface RecordingTotals {
  segments: number;
  bytes: number;
  from: number | null;
  to: number | null;
}

/** The segment index of the redacted recordings, and the ranges pruning must keep. */
export interface RecordingRepository {
  /** Idempotent on (camera, run, seq); true when it stored a new row. Write it only once the file is complete. */
  add(segment: RecordingSegment, at: number): Promise<boolean>;
  /** Segments overlapping [from, to), in time order. */
  list(camera: string, range?: { from?: number; to?: number; limit?: number }): Promise<RecordingSegment[]>;
  /** One run's segments by seq. */
  run(camera: string, run: string): Promise<RecordingSegment[]>;
  runs(camera: string): Promise<string[]>;
  get(camera: string, run: string, seq: number): Promise<RecordingSegment | null>;
  totals(camera: string): Promise<RecordingTotals>;
  /** Oldest first: segments ending at or before `endedBefore` that no hold overlaps. */
  prunable(camera: string, options: { endedBefore?: number; limit?: number }): Promise<RecordingSegment[]>;
  /** Deletes index rows (delete the files after); returns how many went. */
  delete(camera: string, segments: readonly { run: string; seq: number }[]): Promise<number>;
  /** Cameras with any segment. */
  cameras(): Promise<string[]>;
  /** Marks segments as moved to object storage (MEDIA_STORE=s3); returns how many changed. */
  markArchived(camera: string, segments: readonly { run: string; seq: number }[]): Promise<number>;
  /** Segments not yet archived, oldest indexed first (every camera). */
  unarchived(limit?: number): Promise<RecordingSegment[]>;
  addHold(hold: RecordingHold): Promise<void>;
  holds(camera?: string): Promise<RecordingHold[]>;
  deleteHold(id: string): Promise<boolean>;
}

/** What a search asks of the summaries, already resolved from a query plan (see pipeline/search). */
export interface TrackSearchFilter {
  /** Any of these labels. */
  classes: readonly string[];
  /** Any of these cameras; absent: all. */
  cameras?: readonly string[];
  /** The track overlaps one of these [from, to) ranges; absent: any time. */
  intervals?: readonly { from: number; to: number }[];
  /** Every constraint holds: one of `colors` has at least TRACK_COLOR_MIN_SHARE on `part`. */
  colors?: readonly { part: ColorPart; colors: readonly string[] }[];
  /** Was in any of these zones. */
  zones?: readonly string[];
  /** Every entry holds: carried one of `classes` (of one of the colours, as `class:colour` tokens), or never (negated). */
  carrying?: readonly { classes: readonly string[]; colorTokens?: readonly string[]; negated: boolean }[];
  /** Stayed this long (in one of `zones` when given, else in view). */
  dwell?: { minSeconds: number; zones?: readonly string[] };
  /** Only these tracks (the candidates of a similarity search); at most MAX_CANDIDATE_TRACKS. */
  trackIds?: readonly string[];
  limit: number;
  /** Keyset: hits ranked after this one. */
  after?: { rank: number; lastSeen: number; trackId: string };
}

export interface SummaryHit {
  summary: TrackSummary;
  quality: number;
  /** The order of results: quality, weighted by the colour share when colours were asked for. */
  rank: number;
  colorScore: number | null;
}

export interface TrackThumbnail {
  trackId: string;
  camera: string;
  capturedAt: number;
  /** JPEG of the subject's box (redacted pixels). */
  crop: Uint8Array;
  /** JPEG of the whole redacted frame, small. */
  frame: Uint8Array;
}

export interface TrackSummaryRepository {
  /** Insert or replace each track's summary (the last one per track in the batch). `quality` is the rank without colours, 0..1. */
  upsert(summaries: readonly (TrackSummary & { quality: number })[], at: number): Promise<void>;
  get(trackId: string): Promise<TrackSummary | null>;
  /** Ranked: rank, then most recent, then track id, all descending. */
  search(filter: TrackSearchFilter): Promise<SummaryHit[]>;
  /** A camera's tracks overlapping [from, to), by start. */
  inRange(camera: string, from: number, to: number, limit?: number): Promise<TrackSummary[]>;
  putThumbnail(thumbnail: TrackThumbnail): Promise<void>;
  thumbnail(trackId: string, kind: 'crop' | 'frame'): Promise<Uint8Array | null>;
  /** Which of these tracks have a thumbnail. */
  withThumbnails(trackIds: readonly string[]): Promise<Set<string>>;
  count(): Promise<number>;
  /** Deletes summaries last seen before `before` (and their thumbnails); returns how many. */
  prune(before: number): Promise<number>;
  /** Deletes every summary and thumbnail of a camera (a purged upload). */
  deleteCamera(camera: string): Promise<number>;
}

/** Cross-camera re-identification links; an identity is the chain's first track. */
export interface ReidRepository {
  /** Idempotent on the successor track (a track continues at most one other). */
  append(links: readonly ReidLink[]): Promise<void>;
  /** The identity a track belongs to, or null when it was never linked. */
  identityOf(trackId: string): Promise<string | null>;
  /** An identity's links, in the order they were made. */
  links(identity: string, limit?: number): Promise<ReidLink[]>;
  /** The newest `limit` links made since `since`, oldest first (the re-ID stage re-learns its topology from them). */
  recent(since: number, limit?: number): Promise<ReidLink[]>;
  /** Deletes links made before `before`; returns how many. */
  prune(before: number): Promise<number>;
  /** Deletes every link from or to a camera (a purged upload). */
  deleteCamera(camera: string): Promise<number>;
}

/** Evidence exports: who, when, why, and what was produced. */
export interface ExportRepository {
  insert(e: EvidenceExport): Promise<void>;
  finish(id: string, result: { state: 'done' | 'failed'; error: string | null; mp4Sha256: string | null; mp4Bytes: number | null; hasPdf: boolean; at: number }): Promise<void>;
  get(id: string): Promise<EvidenceExport | null>;
  /** Newest first. */
  list(limit?: number): Promise<EvidenceExport[]>;
  /** Fails (with `error`) every export still processing that was requested before `before` (its process died); returns their ids. */
  failInterrupted(before: number, error: string, at: number): Promise<string[]>;
}

/** Uploaded-video jobs, across restarts and web replicas. */
export interface VideoJobRepository {
  /** Inserts or replaces the job, owned by `owner`, beating its heartbeat at `at`; tells whether a cancel was asked for. */
  save(job: VideoJob, owner: string, at: number): Promise<{ cancelRequested: boolean }>;
  get(id: string): Promise<VideoJob | null>;
  /** Newest first. */
  list(limit?: number): Promise<VideoJob[]>;
  /** Asks the owner of a job still processing to cancel it; false when it is not processing. */
  requestCancel(id: string): Promise<boolean>;
  /** Fails (with `error`) every job processing whose heartbeat is older than `before`, and returns them: each to exactly one caller. */
  failStale(before: number, error: string, at: number): Promise<VideoJob[]>;
}

export interface Store {
  readonly reid: ReidRepository;
  readonly videoJobs: VideoJobRepository;
  readonly exports: ExportRepository;
  readonly recordings: RecordingRepository;
  readonly trackSummaries: TrackSummaryRepository;
  readonly kind: 'pglite' | 'postgres';
  readonly leases: LeaseRepository;
  readonly cameras: CameraRepository;
  readonly publishTokens: PublishTokenRepository;
  readonly healthEvents: HealthEventRepository;
  readonly redactions: RedactionRepository;
  readonly snapshots: SnapshotRepository;
  readonly queries: QueryRepository;
  readonly alerts: AlertRepository;
  readonly scene: SceneRepository;
  readonly webhooks: WebhookRepository;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
