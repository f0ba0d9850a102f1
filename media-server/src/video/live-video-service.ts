import { randomBytes } from 'node:crypto';
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { Bus, Consumer, Logger } from '@chronotrace/platform';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { H264RtpEncoder, type EncoderStats } from './h264-rtp-encoder';
import { H264_CODEC, WebRtcRequestError, applyVideoOffer, checkOffer, iceGathered, keepCandidatesOn, peerConfig, preferredH264, type WebRtcNetwork } from './webrtc-config';

export interface LiveVideoOptions {
  ffmpeg: () => Promise<FfmpegBinary>;
  log: Logger;
  network: WebRtcNetwork;
  /** The video rate of a camera, or undefined when there is no such camera. */
  cameraFps: (camera: string) => Promise<number | undefined>;
  /** Viewers at once, over all cameras. Default 64. */
  maxViewers?: number;
  /** A camera's encoder stops this long after its last viewer left. Default 30 000 ms. */
  idleEncoderMs?: number;
  /** A viewer whose connection is not up this long after the answer is dropped. Default 20 000 ms. */
  connectTimeoutMs?: number;
  /** A connected viewer that sent no RTCP (receiver reports, every second or so) this long is gone. Default 8 000 ms. */
  silentViewerMs?: number;
}

export interface ViewerAnswer {
  id: string;
  /** The SDP answer, with every ICE candidate (no trickle needed). */
  sdp: string;
}

export interface CameraVideoStats extends EncoderStats {
  camera: string;
  viewers: number;
}

interface Viewer {
  id: string;
  camera: string;
  pc: RTCPeerConnection;
  detach: () => void;
  timers: NodeJS.Timeout[];
  connected: boolean;
  /** Last RTCP from the viewer (ms epoch): browsers report every second or so while they receive. */
  lastRtcpAt: number;
}

interface CameraVideo {
  encoder: H264RtpEncoder;
  viewers: Set<string>;
  idleTimer: NodeJS.Timeout | null;
}


/**
 * The redacted live video of every watched camera, over WebRTC (WHEP): one H.264 encoder per camera
 * (started with its first viewer, stopped a while after its last), fed by the redacted frames, and one
 * werift peer connection per viewer that forwards the encoder's RTP packets. Nothing raw ever enters:
 * the only input is push(), called with frames.redacted.
 */
export class LiveVideoService {
  private readonly cameras = new Map<string, CameraVideo>();
  private readonly viewerMap = new Map<string, Viewer>();
  private consumer: Consumer | null = null;
  private closed = false;
  private ffmpeg: FfmpegBinary | null = null;

  constructor(private readonly o: LiveVideoOptions) {}

  /** Feeds the encoders from the bus: every redacted frame of a watched camera (its own durable per process). */
  async start(bus: Bus, instance: string): Promise<void> {
    this.ffmpeg = await this.o.ffmpeg();
    this.consumer = await bus.consume(
      'frames.redacted',
      { durable: `video-${instance}`, batch: 32, deliverFrom: 'new', ackWaitMs: 5_000, expireAfterIdleMs: 5 * 60_000 },
      async (msgs) => {
        for (const m of msgs) {
          const body = m.envelope.body;
          if (body) this.push(m.camera, body, m.envelope.meta.capturedAt);
          m.ack();
        }
      },
    );
  }

  /** One redacted frame of a camera; encoded only while the camera has viewers (or its encoder is winding down). */
  push(camera: string, jpeg: Uint8Array, capturedAt?: number): void {
    this.cameras.get(camera)?.encoder.push(jpeg, capturedAt);
  }

  /** When the frame a viewer shows with this RTP timestamp was captured (recent frames only). */
  captureTimeOf(camera: string, rtpTimestamp: number): number | undefined {
    return this.cameras.get(camera)?.encoder.captureTimeOf(rtpTimestamp);
  }

  /** Answers a WHEP offer for a camera. Throws WebRtcRequestError (4xx/503) with the reason. */
  async createViewer(camera: string, offer: string): Promise<ViewerAnswer> {
    if (this.closed || !this.ffmpeg) throw new WebRtcRequestError(503, 'live video is not running');
    checkOffer(offer);
    const fps = await this.o.cameraFps(camera);
    if (fps === undefined) throw new WebRtcRequestError(404, `no camera "${camera}"`);
    if (this.viewerMap.size >= (this.o.maxViewers ?? 64)) throw new WebRtcRequestError(503, `too many viewers (${this.viewerMap.size}); try again later`);

    const pc = new RTCPeerConnection(peerConfig(this.o.network, [H264_CODEC()]));
    const id = randomBytes(12).toString('base64url');
    try {
      const transceiver = await applyVideoOffer(pc, offer, 'the offer has no H.264 the wall can send (packetization-mode 1)');
      const codecs = preferredH264(transceiver.codecs);
      if (codecs.length === 0) throw new WebRtcRequestError(422, 'the offer has no H.264 with packetization-mode 1');
      transceiver.codecs = codecs;
      const track = new MediaStreamTrack({ kind: 'video' });
      transceiver.setDirection('sendonly');
      await transceiver.sender.replaceTrack(track);
      await pc.setLocalDescription(await pc.createAnswer());
      await iceGathered(pc);
      const sdp = keepCandidatesOn(pc.localDescription?.sdp ?? '', this.o.network.address);

      const video = this.cameraVideo(camera, fps);
      const viewer: Viewer = { id, camera, pc, detach: () => undefined, timers: [], connected: false, lastRtcpAt: Date.now() };
      viewer.detach = video.encoder.onPacket((packet) => track.writeRtp(packet));
      transceiver.sender.onRtcp.subscribe(() => {
        viewer.lastRtcpAt = Date.now();
      });
      // A viewer that vanished (tab killed, network gone) stops reporting long before ICE notices.
      const silentMs = this.o.silentViewerMs ?? 8_000;
      const liveness = setInterval(() => {
        if (viewer.connected && Date.now() - viewer.lastRtcpAt > silentMs) void this.closeViewer(id, `no RTCP for ${silentMs} ms`);
      }, Math.min(2_000, silentMs));
      liveness.unref();
      viewer.timers.push(liveness);
      video.viewers.add(id);
      this.viewerMap.set(id, viewer);
      pc.connectionStateChange.subscribe((state) => {
        if (state === 'connected') {
          viewer.connected = true;
          viewer.lastRtcpAt = Date.now();
          this.o.log.info({ camera, viewer: id }, 'viewer connected');
        } else if (state === 'failed' || state === 'closed') void this.closeViewer(id, state);
        else if (state === 'disconnected') viewer.timers.push(setTimeout(() => void this.closeViewer(id, 'disconnected'), 10_000));
      });
      viewer.timers.push(
        setTimeout(() => {
          if (!viewer.connected) void this.closeViewer(id, 'never connected');
        }, this.o.connectTimeoutMs ?? 20_000),
      );
      this.o.log.info({ camera, viewer: id, viewers: video.viewers.size }, 'viewer added');
      return { id, sdp };
    } catch (err) {
      await pc.close().catch(() => undefined);
      throw err;
    }
  }

  /** Ends a viewer (WHEP DELETE, or its connection failed). False when there is no such viewer. */
  async closeViewer(id: string, reason = 'deleted'): Promise<boolean> {
    const viewer = this.viewerMap.get(id);
    if (!viewer) return false;
    this.viewerMap.delete(id);
    viewer.detach();
    viewer.timers.forEach((t) => clearTimeout(t));
    const video = this.cameras.get(viewer.camera);
    video?.viewers.delete(id);
    if (video && video.viewers.size === 0) this.scheduleIdleStop(viewer.camera, video);
    this.o.log.info({ camera: viewer.camera, viewer: id, reason }, 'viewer closed');
    await viewer.pc.close().catch(() => undefined);
    return true;
  }

  /** The camera a viewer watches, or undefined. */
  viewerCamera(id: string): string | undefined {
    return this.viewerMap.get(id)?.camera;
  }

  /** A camera was removed: its viewers and encoder go. */
  async forget(camera: string): Promise<void> {
    await Promise.all([...this.viewerMap.values()].filter((v) => v.camera === camera).map((v) => this.closeViewer(v.id, 'camera removed')));
    const video = this.cameras.get(camera);
    if (!video) return;
    this.cameras.delete(camera);
    if (video.idleTimer) clearTimeout(video.idleTimer);
    await video.encoder.close();
  }

  stats(): CameraVideoStats[] {
    return [...this.cameras].map(([camera, v]) => ({ camera, viewers: v.viewers.size, ...v.encoder.stats() }));
  }

  private cameraVideo(camera: string, fps: number): CameraVideo {
    let video = this.cameras.get(camera);
    if (!video) {
      video = {
        encoder: new H264RtpEncoder({ camera, ffmpeg: this.ffmpeg!, fps, log: this.o.log }),
        viewers: new Set(),
        idleTimer: null,
      };
      this.cameras.set(camera, video);
    }
    if (video.idleTimer) clearTimeout(video.idleTimer);
    video.idleTimer = null;
    return video;
  }

  private scheduleIdleStop(camera: string, video: CameraVideo): void {
    if (video.idleTimer) clearTimeout(video.idleTimer);
    video.idleTimer = setTimeout(() => {
      if (video.viewers.size > 0 || this.cameras.get(camera) !== video) return;
      this.cameras.delete(camera);
      this.o.log.info({ camera }, 'no viewers: encoder stopped');
      void video.encoder.close();
    }, this.o.idleEncoderMs ?? 30_000);
    video.idleTimer.unref();
  }

  /** Ends every viewer and encoder. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.consumer?.close();
    await Promise.all([...this.viewerMap.keys()].map((id) => this.closeViewer(id, 'shutting down')));
    for (const v of this.cameras.values()) if (v.idleTimer) clearTimeout(v.idleTimer);
    await Promise.all([...this.cameras.values()].map((v) => v.encoder.close()));
    this.cameras.clear();
  }
}

