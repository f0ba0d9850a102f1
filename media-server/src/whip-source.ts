import { createSocket, type Socket } from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@chronotrace/platform';
import { EnhancedEventEmitter } from './enhanced-events';
import type { FfmpegBinary } from './ffmpeg-binary';
import { FfmpegFrameSource, type FfmpegFrameSourceOptions } from './ffmpeg-frame-source';
import type { FrameSource, FrameSourceEvents, FrameSourceStats, SourceExit } from './frame-source';
import type { PublishedCodec, WhipHub, WhipPublisher, WhipSink } from './video/whip-hub';

/** How often a keyframe is asked for until the decoder has produced its first frame. */
const KEYFRAME_ASK_MS = 500;

/** ffmpeg decoding RTP described by an SDP file (a loopback UDP port we forward the publisher's packets to). */
class RtpSdpSource extends FfmpegFrameSource {
  readonly kind = 'webrtc';
  constructor(
    options: FfmpegFrameSourceOptions,
    private readonly sdpPath: string,
  ) {
    super(options);
  }

  protected inputArgs(_ffmpeg: FfmpegBinary): string[] {
    // A short probe: the stream is known from the SDP but for its size, which the first keyframe gives.
    return ['-protocol_whitelist', 'file,udp,rtp', '-fflags', 'nobuffer', '-flags', 'low_delay', '-analyzeduration', '1000000', '-probesize', '500000', '-reorder_queue_size', '64', '-i', this.sdpPath];
  }

  protected describeInput(): string {
    return 'WHIP publisher (RTP)';
  }
}

/** The SDP ffmpeg reads: one video stream on a loopback port. */
export function rtpSdp(port: number, codec: PublishedCodec, payloadType: number): string {
  return [
    'v=0',
    'o=- 0 0 IN IP4 127.0.0.1',
    's=ChronoTrace WHIP',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=video ${port} RTP/AVP ${payloadType}`,
    `a=rtpmap:${payloadType} ${codec}/90000`,
    ...(codec === 'H264' ? [`a=fmtp:${payloadType} packetization-mode=1`] : []),
    'a=recvonly',
    '',
  ].join('\r\n');
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve());
  });
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface WhipFrameSourceOptions extends FfmpegFrameSourceOptions {
  hub: WhipHub;
}

/**
 * A WebRTC camera's source: it waits for the camera's WHIP publisher, then decodes its video with ffmpeg
 * (VP8 or H.264 RTP, forwarded on loopback) into JPEG frames at the camera's rate and width. The
 * publisher leaving ends the source with that reason (the supervisor reports it and starts a fresh
 * source, which waits for the next publisher). It waits without a first-frame deadline: a camera with
 * nobody publishing is not a broken process.
 */
export class WhipFrameSource extends EnhancedEventEmitter<FrameSourceEvents> implements FrameSource, WhipSink {
  readonly kind = 'webrtc';
  readonly waitsForPublisher = true;
  private readonly logger: Logger;
  private inner: RtpSdpSource | null = null;
  private publisher: WhipPublisher | null = null;
  private socket: Socket | null = null;
  private tmp: string | null = null;
  private detach: (() => void) | null = null;
  private unsubscribe: (() => void) | null = null;
  private keyframeTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private exited = false;
  private seq = 0;
  private forwarded = 0;
  /** The loopback port ffmpeg reads the publisher's RTP on, once it listens (0 before). */
  private port = 0;

  constructor(private readonly options: WhipFrameSourceOptions) {
    const logger = options.logger ?? createLogger('media-server.source', { camera: options.camera });
    super(logger);
    this.logger = logger;
  }

  get pid(): number | undefined {
    return this.inner?.pid;
  }

  async start(): Promise<void> {
    this.detach = this.options.hub.attach(this.options.camera, this);
    if (!this.publisher) this.safeEmit('idle', 'no WHIP publisher: publish from /publish with the camera\'s token');
  }

  publisherArrived(publisher: WhipPublisher): void {
    if (this.closed || this.publisher) return;
    this.publisher = publisher;
    void publisher.ended.then((reason) => this.end(reason));
    this.unsubscribe = publisher.onRtp((packet) => {
      const codec = publisher.codec();
      if (!codec) return;
      if (!this.inner && !this.socket) void this.startDecoder(codec.name, codec.payloadType);
      const socket = this.socket;
      const port = this.port;
      if (socket && port) {
        this.forwarded++;
        socket.send(packet.serialize(), port, '127.0.0.1');
      }
    });
  }

  private async startDecoder(codec: PublishedCodec, payloadType: number): Promise<void> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('error', (err) => this.logger.warn({ err }, 'WHIP forward socket error'));
    try {
      const port = await freeUdpPort();
      this.tmp = await mkdtemp(join(tmpdir(), 'ct-whip-'));
      const sdpPath = join(this.tmp, 'publisher.sdp');
      await writeFile(sdpPath, rtpSdp(port, codec, payloadType));
      if (this.closed || this.exited) return;
      const inner = new RtpSdpSource(
        { camera: this.options.camera, fps: this.options.fps, width: this.options.width, ffmpeg: this.options.ffmpeg, logger: this.logger },
        sdpPath,
      );
      this.inner = inner;
      inner.on('frame', (frame) => {
        if (this.keyframeTimer) {
          clearInterval(this.keyframeTimer);
          this.keyframeTimer = null;
        }
        this.safeEmit('frame', { ...frame, seq: this.seq++ });
      });
      inner.on('exit', (exit) => this.end(exit.requested ? 'closed' : `the decoder stopped: ${exit.reason}`, exit));
      await inner.start();
      // ffmpeg binds the port as it opens the SDP; packets sent before are lost, and the decoder needs a keyframe.
      this.port = port;
      this.publisher?.requestKeyframe();
      this.keyframeTimer = setInterval(() => this.publisher?.requestKeyframe(), KEYFRAME_ASK_MS);
      this.logger.info({ codec, payloadType, port }, 'decoding the WHIP publisher');
    } catch (err) {
      this.end(`cannot decode the WHIP publisher: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private end(reason: string, exit?: SourceExit): void {
    if (this.exited) return;
    this.exited = true;
    void this.release().then(() => {
      this.safeEmit('exit', { code: exit?.code ?? null, signal: exit?.signal ?? null, reason, requested: this.closed, stderrTail: exit?.stderrTail ?? [] });
    });
  }

  private async release(): Promise<void> {
    if (this.keyframeTimer) clearInterval(this.keyframeTimer);
    this.keyframeTimer = null;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.detach?.();
    this.detach = null;
    const inner = this.inner;
    this.inner = null;
    await inner?.close();
    this.socket?.close();
    this.socket = null;
    this.port = 0;
    if (this.tmp) await rm(this.tmp, { recursive: true, force: true }).catch(() => undefined);
    this.tmp = null;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.exited = true;
    await this.release();
  }

  toJSON(): FrameSourceStats {
    const inner = this.inner?.toJSON();
    return {
      kind: 'webrtc',
      pid: this.pid ?? null,
      frames: this.seq,
      badFrames: inner?.badFrames ?? 0,
      bytesIn: inner?.bytesIn ?? 0,
      discardedBytes: inner?.discardedBytes ?? 0,
      oversized: inner?.oversized ?? 0,
      running: this.inner !== null,
    };
  }
}
