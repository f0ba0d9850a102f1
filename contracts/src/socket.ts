import type { CameraView } from './api';
import type { CameraHealth } from './health';
import type { RedactedFrameMeta } from './bus';

/** A redacted frame pushed to the wall. */
export interface WallFrame {
  meta: RedactedFrameMeta;
  /** JPEG bytes (Socket.io sends binary natively). */
  jpeg: ArrayBuffer | Uint8Array;
}

/** Events the server emits to browsers. */
export interface ServerToClientEvents {
  frame: (frame: WallFrame) => void;
  health: (health: CameraHealth) => void;
  cameras: (cameras: CameraView[]) => void;
}

/** Events browsers send. */
export interface ClientToServerEvents {
  /** Limit frame pushes to these cameras (all when omitted). */
  watch: (cameras: string[] | null) => void;
}

export interface InterServerEvents {
  ping: () => void;
}

export interface SocketData {
  watch: string[] | null;
}
