import { z } from 'zod';
import type { Box } from './geometry';
import type { BasicColor, CocoClass, ColorPart, QueryError, QueryPlan } from './query';

/*
 * Recorded history: the redacted recording's segment index, the per-track summaries search reads,
 * and the search API. Shared by media-server (recorder), pipeline (summaries, search), platform
 * (store) and web (API, search and playback pages).
 */

/** One finished fMP4 segment of a camera's redacted recording (HLS media segment). */
export interface RecordingSegment {
  /** `<run>-<seq>`: unique per camera. */
  id: string;
  camera: string;
  /** One recorder (ffmpeg) run: its segments share one init segment (codec parameters, frame size). */
  run: string;
  /** Order within the run, from 0. */
  seq: number;
  /** Under the media root: `recordings/<camera>/<run>/seg-000000.m4s`. */
  path: string;
  /** The run's init segment, under the media root. */
  initPath: string;
  /** Capture time (ms epoch) of the segment's first frame. */
  startAt: number;
  /** Capture time just after its last frame (the next segment's start when they are contiguous). */
  endAt: number;
  bytes: number;
  frames: number;
  keyframes: number;
  width: number;
  height: number;
  /** In object storage (MEDIA_STORE=s3) under the same key as `path`, no longer under the media root. Absent: on disk. */
  archived?: true;
}

/** A time range of a camera's recording that pruning must keep (an export, an incident). */
export interface RecordingHold {
  id: string;
  camera: string;
  from: number;
  to: number;
  reason: string;
  createdAt: number;
}

/** Recorder state of one camera, in its health. */
export type RecordingState = 'off' | 'recording' | 'stopped';

export interface RecordingHealth {
  state: RecordingState;
  /** Why it is stopped (disk full, encoder failing), null while recording or off. */
  error: string | null;
  /** Segments and bytes kept in the index for this camera. */
  segments: number;
  bytes: number;
  /** Capture time of the oldest and newest recorded moment, null when nothing is recorded. */
  from: number | null;
  to: number | null;
}

/** Colour fractions of one part over a track's observations: colour → share of observations it was dominant. */
export type ColorShares = Partial<Record<BasicColor, number>>;

/** What search keeps per track: one row summarising every detection of it (not one per frame). */
export interface TrackSummary {
  trackId: string;
  camera: string;
  label: CocoClass | string;
  firstSeen: number;
  lastSeen: number;
  ended: boolean;
  /** Detections summarised (frames where the detector matched the track). */
  observations: number;
  bestScore: number;
  meanScore: number;
  /** Capture time of the best view (highest score × box area), and its box in frame pixels. */
  bestAt: number;
  bestBox: Box;
  frameWidth: number;
  frameHeight: number;
  /** Per part, the colours that were dominant and on which share of the observations with fresh colours. */
  colors: Partial<Record<ColorPart, ColorShares>>;
  /** Zones the foot point was in, ever. */
  zones: string[];
  /** Longest time in each zone, seconds. */
  dwell: Record<string, number>;
  /** Classes carried at some point. */
  carrying: CocoClass[];
  /** `class:colour` of carried objects, e.g. `backpack:red`. */
  carriedColors: string[];
}

/** A share at or above this makes a colour count as the track's colour (search filters on it). */
export const TRACK_COLOR_MIN_SHARE = 0.2;

/** GET /api/search query string. */
export const searchQuerySchema = z
  .object({
    q: z.string().trim().min(1, 'is required').max(1000, 'must be at most 1000 characters'),
    /** ms epoch or ISO 8601; narrows what the text says. */
    from: z.string().max(40).optional(),
    to: z.string().max(40).optional(),
    camera: z.string().max(64).optional(),
    zone: z.string().max(64).optional(),
    /** Extra filters from the search page's controls (ANDed with the text). */
    class: z.string().max(64).optional(),
    color: z.string().max(32).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(24),
    cursor: z.string().max(400).optional(),
  })
  .strict();

export type SearchQueryInput = z.input<typeof searchQuerySchema>;

/** The absolute time a search covers, after the text's time phrases and the from/to parameters. */
export interface SearchTimeRange {
  from: number | null;
  to: number | null;
  /** The time words as understood, e.g. "yesterday (2 Dec) after 18:00". */
  explanation: string | null;
  /** The cameras' time zone the phrases were read in. */
  timeZone: string;
}

/** One search result: one track (a person walking past is one result). */
export interface SearchHit {
  trackId: string;
  camera: string;
  cameraName: string;
  label: string;
  start: number;
  end: number;
  /** Where to start playing: a moment before the best view. */
  playAt: number;
  bestAt: number;
  /**
   * Match quality 0..1 (detection score, colour score, time in view; with a similarity term, half of it
   * is how closely the track's best view matches the text among the candidates); recency breaks ties.
   */
  score: number;
  /** `similarity`: cosine of the best view's image embedding and the text's (a similarity term only), else null. */
  scores: { detection: number; color: number | null; time: number; similarity: number | null };
  box: Box;
  colors: TrackSummary['colors'];
  zones: string[];
  /** Redacted thumbnails of the best view: the subject cropped, and the whole frame. */
  thumbnail: { crop: string; frame: string } | null;
  /** Whether the recording covers playAt. */
  recorded: boolean;
}

export interface SearchResponse {
  query: string;
  plan: QueryPlan;
  explanation: string;
  time: SearchTimeRange;
  hits: SearchHit[];
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
  /** Server time spent, ms. */
  ms: number;
}

/** The 400 of a search the compiler refused: the same body as POST /api/queries. */
export type SearchRejection = QueryError;

/** Camera fields about recording, in streams.config.ts and POST /api/cameras. */
export const recordingSettingsSchema = z
  .object({
    /** Record the redacted video. Default true. */
    enabled: z.boolean().default(true),
    /** Keep at most this many days. Default 7. */
    retainDays: z.number().positive().max(3650).default(7),
    /** Keep at most this many GB for this camera (oldest pruned first). Default 10. */
    retainGb: z.number().positive().max(100_000).default(10),
  })
  .strict();

export type RecordingSettings = z.infer<typeof recordingSettingsSchema>;

/** GET /api/cameras/:id/timeline: what happened when, for the playback page and the wall's focus view. */
export interface TimelineResponse {
  camera: string;
  from: number;
  to: number;
  /** Recorded spans (adjacent segments merged). */
  segments: { startAt: number; endAt: number }[];
  alerts: { id: string; at: number; query: string; severity: string }[];
  tracks: { trackId: string; label: string; start: number; end: number }[];
  /** Tracks in view per bucket (activity density). */
  density: { bucketMs: number; counts: number[] };
}

/** GET /api/cameras/:id/recording: the recorder's state and the segments of a range. */
export interface RecordingIndexResponse {
  camera: string;
  from: number;
  to: number;
  /** `state` is null when the recorder runs in another process (distributed mode): totals only. */
  health: Omit<RecordingHealth, 'state'> & { state: RecordingState | null };
  segments: Pick<RecordingSegment, 'id' | 'startAt' | 'endAt' | 'bytes' | 'frames' | 'keyframes'>[];
}

/** An uploaded video's processing job (POST /api/videos). */
export type VideoJobState = 'processing' | 'done' | 'failed' | 'cancelled';

export interface VideoJob {
  id: string;
  /** The virtual camera its frames, tracks and redacted recording are stored under (`upload-<id>`). */
  camera: string;
  fileName: string;
  bytes: number;
  /** From ffprobe. */
  container: string;
  codec: string;
  width: number;
  height: number;
  durationS: number;
  /** The wall time the video's first frame is given (its creation time when it has one, else the upload's). */
  startAt: number;
  state: VideoJobState;
  progress: {
    /** 0–100. */
    percent: number;
    /** Frames taken from the video so far, and the total expected. */
    frames: number;
    totalFrames: number;
    /** Frames redacted and stored. */
    redacted: number;
    /** Seconds left at the current rate, null before there is a rate. */
    etaS: number | null;
    /** Video seconds processed per wall second. */
    speedX: number | null;
  };
  error: string | null;
  createdAt: number;
  finishedAt: number | null;
}

/** POST /api/exports body: a range of one camera's redacted recording, and why it is exported. */
export const newExportSchema = z
  .object({
    camera: z.string().min(1).max(64),
    /** ms epoch or ISO 8601. */
    from: z.union([z.number().int().nonnegative(), z.string().max(40)]),
    to: z.union([z.number().int().nonnegative(), z.string().max(40)]),
    reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(1000),
  })
  .strict();

export type NewExportInput = z.input<typeof newExportSchema>;

export type ExportState = 'processing' | 'done' | 'failed';

/** An evidence export: a redacted MP4 with the camera and time burned in, and its incident report. */
export interface EvidenceExport {
  id: string;
  camera: string;
  from: number;
  to: number;
  reason: string;
  /** Who asked for it. */
  requestedBy: string;
  createdAt: number;
  state: ExportState;
  error: string | null;
  /** SHA-256 (hex) of the MP4, also printed in the report. */
  mp4Sha256: string | null;
  mp4Bytes: number | null;
  /** Download links, once done (the PDF is null when no Chromium could print it). */
  files: { mp4: string; html: string; pdf: string | null } | null;
  finishedAt: number | null;
}
