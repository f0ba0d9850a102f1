import { randomBytes } from 'node:crypto';
import { RTCPeerConnection, type MediaStreamTrack, type RtpPacket } from 'werift';
import type { Logger } from '@chronotrace/platform';
import { H264_CODEC, VP8_CODEC, WebRtcRequestError, applyVideoOffer, checkOffer, iceGathered, keepCandidatesOn, peerConfig, type WebRtcNetwork } from './webrtc-config';

/** The codecs a WHIP publisher may send, as ffmpeg's SDP names them. */
export type PublishedCodec = 'H264' | 'VP8';

/** One browser (or phone, or encoder) publishing a camera over WHIP. */
export interface WhipPublisher {
  readonly id: string;
  readonly camera: string;
  /** Set once the first packet shows which of the negotiated codecs the publisher sends. */
  codec(): { name: PublishedCodec; payloadType: number } | null;
  /** Every RTP packet of the video from now on (already decrypted). Returns the unsubscribe. */
  onRtp(listener: (packet: RtpPacket) => void): () => void;
  /** Asks the publisher for a keyframe (RTCP PLI): a decoder that starts mid-stream needs one. */
  requestKeyframe(): void;
  /** Resolves with the reason once the publisher is gone. */
  readonly ended: Promise<string>;
  readonly connected: boolean;
  readonly startedAt: number;
  packets(): number;
}

/** What a camera's ingest source does with a publisher (WhipFrameSource). */
export interface WhipSink {
  publisherArrived(publisher: WhipPublisher): void;
}

export interface WhipHubOptions {
  log: Logger;
  network: WebRtcNetwork;
  /** A publisher that sent no video this long is dropped. Default 5 000 ms. */
  silentPublisherMs?: number;
  /** A publisher whose connection is not up this long after the answer is dropped. Default 20 000 ms. */
  connectTimeoutMs?: number;
}

interface Session extends WhipPublisher {
  pc: RTCPeerConnection;
  close(reason: string): Promise<void>;
}


/**
 * The WHIP side of ingest: one werift peer connection per publishing camera, receiving VP8 or H.264.
 * The camera's ingest source (created and restarted by its CameraSupervisor) attaches as the sink and
 * turns the packets into frames; sessions outlive source restarts. Raw video: it goes nowhere but to the
 * camera's sink, which feeds frames.raw like every other source.
 */
export class WhipHub {
  private readonly sessions = new Map<string, Session>();
  private readonly sinks = new Map<string, WhipSink>();
  private closed = false;

  constructor(private readonly o: WhipHubOptions) {}

  /** The camera's current publisher, if any. */
  publisher(camera: string): WhipPublisher | undefined {
    return this.sessions.get(camera);
  }

  /** A source attaches for its camera; it hears of the current publisher at once and of later ones. */
  attach(camera: string, sink: WhipSink): () => void {
    this.sinks.set(camera, sink);
    const current = this.sessions.get(camera);
    if (current) sink.publisherArrived(current);
    return () => {
      if (this.sinks.get(camera) === sink) this.sinks.delete(camera);
    };
  }

  /**
   * Answers a publisher's SDP offer (the caller has checked the camera and its publish token). A camera
   * takes one publisher: a second one gets 409 until the first is gone. Throws WebRtcRequestError.
   */
  async publish(camera: string, offer: string): Promise<{ id: string; sdp: string }> {
    if (this.closed) throw new WebRtcRequestError(503, 'WHIP ingest is shutting down');
    checkOffer(offer);
    if (this.sessions.has(camera)) throw new WebRtcRequestError(409, `camera "${camera}" already has a publisher: stop it (DELETE its session) first`);
    const pc = new RTCPeerConnection(peerConfig(this.o.network, [VP8_CODEC(), H264_CODEC()]));
    try {
      const transceiver = await applyVideoOffer(pc, offer, 'the offer has neither VP8 nor H.264 video');
      transceiver.setDirection('recvonly');
      await pc.setLocalDescription(await pc.createAnswer());
      await iceGathered(pc);
      const sdp = keepCandidatesOn(pc.localDescription?.sdp ?? '', this.o.network.address);
      if (this.sessions.has(camera)) throw new WebRtcRequestError(409, `camera "${camera}" already has a publisher`);
      const session = this.session(camera, pc, transceiver);
      this.sessions.set(camera, session);
      this.o.log.info({ camera, publisher: session.id }, 'WHIP publisher answered');
      this.sinks.get(camera)?.publisherArrived(session);
      return { id: session.id, sdp };
    } catch (err) {
      await pc.close().catch(() => undefined);
      throw err;
    }
  }

  /** Ends a publisher (WHIP DELETE). False when that session is not the camera's publisher. */
  async unpublish(camera: string, id: string, reason = 'the publisher stopped'): Promise<boolean> {
    const s = this.sessions.get(camera);
    if (!s || s.id !== id) return false;
    await s.close(reason);
    return true;
  }

  /** A camera was removed or is no longer a WebRTC camera: its publisher goes. */
  async forget(camera: string): Promise<void> {
    await this.sessions.get(camera)?.close('the camera was removed');
    this.sinks.delete(camera);
  }

  stats(): { camera: string; publisher: string; connected: boolean; packets: number; codec: string | null }[] {
    return [...this.sessions.values()].map((s) => ({ camera: s.camera, publisher: s.id, connected: s.connected, packets: s.packets(), codec: s.codec()?.name ?? null }));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.sessions.values()].map((s) => s.close('the server is shutting down')));
  }

  private session(camera: string, pc: RTCPeerConnection, transceiver: ReturnType<RTCPeerConnection['getTransceivers']>[number]): Session {
    const id = randomBytes(12).toString('base64url');
    const listeners = new Set<(p: RtpPacket) => void>();
    let codec: { name: PublishedCodec; payloadType: number } | null = null;
    let track: MediaStreamTrack | null = null;
    let packets = 0;
    let lastPacketAt = Date.now();
    let connected = false;
    let endedResolve: (reason: string) => void = () => undefined;
    const ended = new Promise<string>((r) => (endedResolve = r));
    const timers: NodeJS.Timeout[] = [];
    let closing: Promise<void> | null = null;
    const log = this.o.log.child({ camera, publisher: id });

    const close = (reason: string): Promise<void> => {
      closing ??= (async () => {
        timers.forEach((t) => clearTimeout(t));
        if (this.sessions.get(camera) === session) this.sessions.delete(camera);
        listeners.clear();
        log.info({ reason, packets }, 'WHIP publisher gone');
        endedResolve(reason);
        await pc.close().catch(() => undefined);
      })();
      return closing;
    };

    const attachTrack = (t: MediaStreamTrack): void => {
      if (track) return;
      track = t;
      t.onReceiveRtp.subscribe((rtp) => {
        // Padding-only packets (the browser's bandwidth probes) are not video: they must not keep a
        // publisher whose camera stopped looking alive.
        if (rtp.payload.length === 0) return; // the payload comes without its padding
        packets++;
        lastPacketAt = Date.now();
        if (!codec) {
          const c = transceiver.codecs.find((x) => x.payloadType === rtp.header.payloadType);
          const name = c?.mimeType.toLowerCase() === 'video/h264' ? 'H264' : c?.mimeType.toLowerCase() === 'video/vp8' ? 'VP8' : null;
          if (!name) return; // RTX, FEC… (not negotiated here, so not expected)
          codec = { name, payloadType: rtp.header.payloadType };
          log.info({ codec: name, payloadType: codec.payloadType }, 'WHIP publisher sends video');
        }
        if (rtp.header.payloadType !== codec.payloadType) return;
        for (const l of listeners) l(rtp);
      });
    };
    // The track may exist already (set up with the remote description) or come with the first packet.
    transceiver.receiver.tracks.forEach(attachTrack);
    transceiver.onTrack.subscribe(attachTrack);
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        connected = true;
        lastPacketAt = Date.now();
        log.info('WHIP publisher connected');
      } else if (state === 'failed' || state === 'closed') void close(`the WebRTC connection ${state}`);
    });
    const silentMs = this.o.silentPublisherMs ?? 5_000;
    const liveness = setInterval(() => {
      if (connected && Date.now() - lastPacketAt > silentMs) void close(`no video from the publisher for ${(silentMs / 1000).toFixed(0)} s`);
    }, Math.min(1_000, silentMs));
    liveness.unref();
    timers.push(liveness);
    timers.push(
      setTimeout(() => {
        if (!connected) void close('the publisher never connected');
      }, this.o.connectTimeoutMs ?? 20_000),
    );

    const session: Session = {
      id,
      camera,
      pc,
      startedAt: Date.now(),
      get connected() {
        return connected;
      },
      codec: () => codec,
      packets: () => packets,
      ended,
      onRtp(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      requestKeyframe() {
        const ssrc = track?.ssrc;
        if (ssrc !== undefined) transceiver.receiver.sendRtcpPLI(ssrc).catch(() => undefined);
      },
      close,
    };
    return session;
  }
}

