import type { CameraHealth, CameraRecord, RedactedFrameMeta, Box, ModelVersion } from '@chronotrace/contracts';

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
  /** Idempotent on frameId (a redelivered frame does not create a second record). */
  append(record: RedactionRecord): Promise<void>;
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

/** Port: metadata, events and audit. Implementations: PgliteStore (embedded), PostgresStore (distributed); same SQL migrations. */
export interface Store {
  readonly kind: 'pglite' | 'postgres';
  readonly cameras: CameraRepository;
  readonly healthEvents: HealthEventRepository;
  readonly redactions: RedactionRepository;
  readonly snapshots: SnapshotRepository;
  /** Applies pending migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
