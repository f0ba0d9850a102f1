import type { CameraView } from './api';
import type { CameraHealth } from './health';
import type { RedactedFrameMeta } from './bus';
import type { Alert, StandingQuery } from './alerts';
import type { VideoJob } from './history';
import type { ReidLink } from './reid';

/** A redacted frame pushed to the wall. */
export interface WallFrame {
  meta: RedactedFrameMeta;
  /** JPEG bytes (Socket.io sends binary natively). */
  jpeg: ArrayBuffer | Uint8Array;
}

/** Events the server emits to browsers. */
export interface ServerToClientEvents {
  frame: (frame: WallFrame) => void;
  /** A redacted frame's metadata alone, for a camera the client plays as WebRTC video (see `video`). */
  frameMeta: (meta: RedactedFrameMeta) => void;
  health: (health: CameraHealth) => void;
  cameras: (cameras: CameraView[]) => void;
  /** A standing query fired (the snapshot is at /api/alerts/:id/snapshot.jpg). */
  alert: (alert: Alert) => void;
  /** An alert was acknowledged (by anyone, on any replica). */
  alertAck: (ack: { id: string; by: string; at: number }) => void;
  /** The standing queries changed (created, edited, armed, disarmed, deleted). */
  queries: (queries: StandingQuery[]) => void;
  /** An uploaded video's job progressed or ended (a few times a second at most). */
  videoJob: (job: VideoJob) => void;
  /** A person walked from one camera to another: the re-ID stage linked their tracks (GET /api/identities/:identity). */
  handoff: (link: ReidLink) => void;
}

/** Events browsers send. */
export interface ClientToServerEvents {
  /** Limit frame pushes to these cameras (all when omitted). */
  watch: (cameras: string[] | null) => void;
  /**
   * The cameras this client plays as WebRTC video: their frames come as `frameMeta` (no JPEG) while
   * watched. An empty list: JPEG frames for every watched camera (the fallback).
   */
  video: (cameras: string[]) => void;
}

export interface InterServerEvents {
  ping: () => void;
}

export interface SocketData {
  watch: string[] | null;
}
