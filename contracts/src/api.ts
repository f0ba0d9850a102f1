import type { CameraConfig } from './config';
import type { CameraHealth } from './health';

/** GET /api/cameras item. */
export interface CameraView {
  id: string;
  name: string;
  location: string;
  source: string;
  fps: number;
  width: number;
  enabled: boolean;
  /** Where the camera came from: the config file, or added at run time through the API. */
  origin: CameraOrigin;
  health: CameraHealth;
}

/** Every 4xx/5xx JSON body. */
export interface ApiError {
  error: string;
  /** One line per bad field, `path: message`. */
  details?: string[];
}

/** Where a camera came from: the config file, the API, or an uploaded video (a virtual camera of its history). */
export type CameraOrigin = 'config' | 'api' | 'upload';

export type CameraRecord = CameraConfig & { origin: CameraOrigin; createdAt: number };

/** POST /api/cameras/:id/publish-token: a WebRTC camera's WHIP publish token, shown this once. */
export interface PublishTokenIssued {
  camera: string;
  /** Send as `Authorization: Bearer <token>` to POST /whip/:camera. Only its hash is stored. */
  token: string;
  createdAt: number;
  /** The camera's WHIP endpoint, e.g. /whip/phone. */
  whip: string;
}
