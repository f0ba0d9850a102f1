import type { EnhancedEventEmitter } from './enhanced-events';

/** One JPEG frame from a source, stamped when its last byte arrived. */
export interface SourceFrame {
  jpeg: Buffer;
  /** From the JPEG SOF header. */
  width: number;
  height: number;
  /** Wall-clock ms when the whole JPEG had arrived. */
  capturedAt: number;
  /** 0, 1, 2… per source process. */
  seq: number;
}

/** How a source process ended. */
export interface SourceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why, for people: ffmpeg's last error line (e.g. "rtsp://…: Connection refused"), or how it ended. */
  reason: string;
  /** True when close() ended it; false when it died or ended on its own. */
  requested: boolean;
  /** ffmpeg's last stderr lines. */
  stderrTail: string[];
}

export type FrameSourceEvents = {
  frame: [frame: SourceFrame];
  /** Emitted exactly once per started source, after the process is gone. */
  exit: [exit: SourceExit];
  /** The source runs but has nothing to send, and says why (a WebRTC camera nobody publishes). */
  idle: [reason: string];
};

export type FrameSourceKind = 'rtsp' | 'file' | 'testsrc' | 'webrtc';

export interface FrameSourceStats {
  kind: FrameSourceKind;
  pid: number | null;
  frames: number;
  /** JPEGs whose SOF header could not be read (dropped). */
  badFrames: number;
  bytesIn: number;
  discardedBytes: number;
  oversized: number;
  running: boolean;
}

/** A process or device that produces JPEG frames. Implemented by FfmpegFrameSource and its subclasses. */
export interface FrameSource extends EnhancedEventEmitter<FrameSourceEvents> {
  readonly kind: FrameSourceKind;
  /**
   * True for a source that waits for someone to send it video (a WHIP publisher): its supervisor then
   * sets no first-frame deadline. Default false.
   */
  readonly waitsForPublisher?: boolean;
  /** OS pid of the producing process while it runs. */
  readonly pid: number | undefined;
  /** Starts producing. Never rejects for runtime failures: those end in an 'exit' event with a reason. */
  start(): Promise<void>;
  /** Stops and releases the process. Idempotent; resolves once it is gone. */
  close(): Promise<void>;
  toJSON(): FrameSourceStats;
}
