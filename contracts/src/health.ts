export type CameraState = 'starting' | 'live' | 'stalled' | 'down' | 'stopped';

export interface CameraHealth {
  camera: string;
  state: CameraState;
  /** Frames per second measured over the last few seconds at ingest. */
  fps: number;
  /** ms epoch of the last frame, or null before the first one. */
  lastFrameAt: number | null;
  restarts: number;
  lastError: string | null;
  /** Frames the pipeline skipped to stay real-time (newest-frame-wins). */
  skipped: number;
  /** Frames dropped because redaction failed on them (fail closed). */
  redactionFailures: number;
  /**
   * Redacted frames per second this web replica pushed to the wall over the last few seconds: what
   * viewers actually get (ingest's `fps` is what came in). Set by the web replica; absent elsewhere.
   */
  deliveredFps?: number;
  /** ms epoch this health record was produced. */
  at: number;
}

export type ComponentState = 'ok' | 'degraded' | 'down';

export interface SystemHealth {
  status: ComponentState;
  mode: 'embedded' | 'distributed';
  version: string;
  uptimeS: number;
  components: Record<string, { state: ComponentState; detail?: string }>;
  cameras: CameraHealth[];
}
