import type { CameraHealth } from './health';
import type { Box } from './geometry';
import type { SceneSummary } from './scene';
import type { AlertMessage } from './alerts';
import type { RecordingHealth } from './history';
import type { ReidLink, TrackEvent } from './reid';

/**
 * The kinds of bus traffic; each is one JetStream stream with subjects `<prefix>.<camera>`.
 * `retention`: 'limits' keeps messages until max age (or the size bound); 'interest' deletes a message
 * as soon as every durable consumer interested in its subject has acked it, and does not keep one that
 * no consumer wants: raw frames are never replayable, whoever can read the bus.
 */
export const STREAMS = {
  /** Raw frames: gone once the privacy stage acked them, and after 10 s at most (memory only). */
  'frames.raw': { stream: 'CT_FRAMES_RAW', storage: 'memory', maxAgeMs: 10_000, live: true, retention: 'interest' },
  'frames.redacted': { stream: 'CT_FRAMES_REDACTED', storage: 'memory', maxAgeMs: 60_000, live: true, retention: 'limits' },
  /** Redacted frames with their tracks and attributes (scene stage → match stage). Body: the redacted JPEG. */
  scene: { stream: 'CT_SCENE', storage: 'memory', maxAgeMs: 60_000, live: true, retention: 'limits' },
  /** Alerts fired by standing queries; kept a week on file storage so a web replica or webhook dispatcher that was down catches up. */
  alerts: { stream: 'CT_ALERTS', storage: 'file', maxAgeMs: 7 * 24 * 3600_000, live: false, retention: 'limits' },
  health: { stream: 'CT_HEALTH', storage: 'file', maxAgeMs: 24 * 3600_000, live: false, retention: 'limits' },
  /** Person tracks appearing and ending, with their appearance (scene stage → re-ID stage); kept a day so a re-ID stage that was down catches up. */
  tracks: { stream: 'CT_TRACKS', storage: 'file', maxAgeMs: 24 * 3600_000, live: false, retention: 'limits' },
  /** Cross-camera links made by the re-ID stage (→ the wall's live handoff); the subject's camera is the one the person went to. */
  links: { stream: 'CT_LINKS', storage: 'file', maxAgeMs: 24 * 3600_000, live: false, retention: 'limits' },
  /** Periodic counters from stage replicas; the subject's last token is the replica id, not a camera. */
  stats: { stream: 'CT_STATS', storage: 'memory', maxAgeMs: 60_000, live: true, retention: 'limits' },
} as const;

export type StreamKind = keyof typeof STREAMS;

/** NATS max_payload defaults to 1 MiB; frames are JPEG so they fit well below. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

export function subjectFor(kind: StreamKind, camera: string): string {
  return `${kind}.${camera}`;
}

/** A sampled frame, stamped at capture (ingest) time. Body: JPEG bytes. */
export interface FrameMeta {
  camera: string;
  /** Unique per frame: `<camera>:<sessionStart>:<seq>`. Used as Nats-Msg-Id. */
  frameId: string;
  seq: number;
  /** Wall-clock ms when ingest received the frame from the source. */
  capturedAt: number;
  width: number;
  height: number;
}

export interface ModelVersion {
  name: string;
  version: string;
}

/** One COCO object found inside the privacy boundary (frame pixels), for the scene/tracking stage. */
export type DetectedObjectBox = Box & { label: string; score: number };

/** What the motion gate decided for a frame: whether the object detector ran on it or its last detections were reused. */
export interface MotionDecision {
  /** The object detector ran on this frame (motion, warm-up, forced, global change); false: the camera's last detections were reused. */
  ran: boolean;
  /** Fraction of the small grey image that changed. */
  changedRatio: number;
  /** 'motion' | 'warm-up' | 'forced' | 'global-change' | 'still' | 'off' (no object detector). */
  reason: string;
}

/** What the privacy stage hid in a frame. */
export interface RedactionSummary {
  faces: Box[];
  plates: Box[];
  /** Head regions of detected people (label 'person-head'), redacted even where no face was found. */
  heads: Box[];
  /** Every COCO object of this frame (reused from the last run when nothing moved). Empty when object detection is off. */
  objects: DetectedObjectBox[];
  motion: MotionDecision;
  method: 'pixelate' | 'blur';
  models: ModelVersion[];
  /** Time spent in the privacy stage for this frame. */
  ms: number;
  redactedAt: number;
}

export interface RedactedFrameMeta extends FrameMeta {
  redaction: RedactionSummary;
}

/** A redacted frame after tracking and attributes. */
export interface SceneFrameMeta extends RedactedFrameMeta {
  scene: SceneSummary;
}

/** Metadata type carried by each stream kind. */
export interface StreamMetaMap {
  'frames.raw': FrameMeta;
  'frames.redacted': RedactedFrameMeta;
  scene: SceneFrameMeta;
  alerts: AlertMessage;
  health: CameraHealth;
  tracks: TrackEvent;
  links: ReidLink;
  stats: StageStats;
}

/** Per-camera counters of one stage replica, published every few seconds and summed by the web for camera health. */
export interface StageStats {
  stage: string;
  /** Replica id, unique per process. */
  instance: string;
  at: number;
  cameras: Record<string, { processed: number; skipped: number; failures: number }>;
  /** The recorder's state of each camera it knows (stage 'recording' only): how the web tells it when the recorder runs elsewhere. */
  recording?: Record<string, Pick<RecordingHealth, 'state' | 'error'>>;
}

/** A message on the bus: typed metadata plus an optional binary body (a JPEG for frames). */
export interface Envelope<K extends StreamKind> {
  meta: StreamMetaMap[K];
  body?: Uint8Array;
}

/**
 * Wire format shared by every Bus implementation: `[u32 BE meta length][meta JSON][body]`.
 * The meta is JSON so any language can read it; the body stays binary (no base64 inflation).
 */
export function encodeEnvelope<K extends StreamKind>(env: Envelope<K>): Uint8Array {
  const meta = new TextEncoder().encode(JSON.stringify(env.meta));
  const body = env.body ?? new Uint8Array(0);
  const out = new Uint8Array(4 + meta.length + body.length);
  new DataView(out.buffer).setUint32(0, meta.length, false);
  out.set(meta, 4);
  out.set(body, 4 + meta.length);
  return out;
}

export function decodeEnvelope<K extends StreamKind>(bytes: Uint8Array): Envelope<K> {
  if (bytes.length < 4) throw new RangeError('envelope shorter than its header');
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
  if (4 + len > bytes.length) throw new RangeError('envelope meta length exceeds payload');
  const meta = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + len))) as StreamMetaMap[K];
  const body = bytes.subarray(4 + len);
  return body.length > 0 ? { meta, body } : { meta };
}
