import { RTCRtpCodecParameters, codecParametersFromString, type PeerConfig, type RTCPeerConnection, type RTCRtpTransceiver } from 'werift';

/** Where werift's media sockets live: one address to bind and announce, and optionally a UDP port range. */
export interface WebRtcNetwork {
  /** One IPv4 address to bind the media sockets to and to announce (e.g. 127.0.0.1 in tests); null: every interface. */
  address: string | null;
  /** UDP ports for the media sockets, inclusive; null: any free port. */
  portRange: [number, number] | null;
}

/** A 4xx of a WebRTC endpoint: the status and a reason the client can show. */
export class WebRtcRequestError extends Error {
  override name = 'WebRtcRequestError';
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 415 | 422 | 503,
    message: string,
  ) {
    super(message);
  }
}

const rtcpFeedback = [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }, { type: 'ccm', parameter: 'fir' }, { type: 'goog-remb' }];

/** H.264 constrained baseline, packetization mode 1: what the encoder sends and what WHIP publishers may send. */
export const H264_CODEC = (): RTCRtpCodecParameters =>
  new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    rtcpFeedback,
    parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  });

export const VP8_CODEC = (): RTCRtpCodecParameters => new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90_000, rtcpFeedback });

/** werift's peer configuration for a network and the codecs on offer. */
export function peerConfig(network: WebRtcNetwork, video: RTCRtpCodecParameters[]): Partial<PeerConfig> {
  return {
    codecs: { video, audio: [] },
    iceServers: [],
    iceUseIpv6: false,
    ...(network.address ? { iceInterfaceAddresses: { udp4: network.address }, iceAdditionalHostAddresses: [network.address] } : {}),
    ...(network.portRange ? { icePortRange: network.portRange } : {}),
  };
}

/**
 * Of the H.264 variants a browser offered, those our stream can be sent as: packetization mode 1 (FU-A),
 * constrained baseline first, then baseline, then the rest (decoders of a higher profile play baseline).
 */
export function preferredH264(codecs: readonly RTCRtpCodecParameters[]): RTCRtpCodecParameters[] {
  const rank = (c: RTCRtpCodecParameters): number => {
    const p = codecParametersFromString(c.parameters ?? '') as Record<string, unknown>;
    const profile = String(p['profile-level-id'] ?? '').toLowerCase();
    return profile.startsWith('42e0') ? 0 : profile.startsWith('4200') ? 1 : 2;
  };
  return codecs
    .filter((c) => c.mimeType.toLowerCase() === 'video/h264')
    .filter((c) => Number((codecParametersFromString(c.parameters ?? '') as Record<string, unknown>)['packetization-mode'] ?? 0) === 1)
    .sort((a, b) => rank(a) - rank(b));
}

/** Keeps only the candidates on the configured address (werift also announces the host's other interfaces). */
export function keepCandidatesOn(sdp: string, address: string | null): string {
  if (!address) return sdp;
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:') || line.split(' ')[4] === address)
    .join('\r\n');
}

/** A quick structural check before werift parses an offer: what a client gets told instead of a stack trace. */
export function checkOffer(sdp: string): void {
  if (sdp.length === 0) throw new WebRtcRequestError(400, 'the body is empty: send the SDP offer');
  if (sdp.length > 64 * 1024) throw new WebRtcRequestError(400, 'the SDP offer is larger than 64 KiB');
  if (!/^v=0\r?\n/.test(sdp)) throw new WebRtcRequestError(400, 'not an SDP offer: it must start with "v=0"');
  if (!/\r?\nm=video /.test(sdp)) throw new WebRtcRequestError(400, 'the SDP offer has no video section (m=video)');
  if (!/\r?\na=ice-ufrag:/.test(sdp) || !/\r?\na=fingerprint:/.test(sdp)) throw new WebRtcRequestError(400, 'the SDP offer lacks ICE credentials or a DTLS fingerprint');
}

/** Resolves once ICE gathering is complete (every candidate is in the local description), or after `timeoutMs`. */
export async function iceGathered(pc: RTCPeerConnection, timeoutMs = 5_000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      sub.unSubscribe();
      resolve();
    }, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s !== 'complete') return;
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    });
  });
}

/** Sets a client's offer as the remote description and returns its video transceiver; 4xx with the reason otherwise. */
export async function applyVideoOffer(pc: RTCPeerConnection, offer: string, noCodec: string): Promise<RTCRtpTransceiver> {
  try {
    await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/negotiate codecs failed/.test(msg)) throw new WebRtcRequestError(422, noCodec);
    throw new WebRtcRequestError(400, `the SDP offer cannot be used: ${msg}`);
  }
  const transceiver = pc.getTransceivers().find((t) => t.kind === 'video');
  if (!transceiver) throw new WebRtcRequestError(400, 'the SDP offer has no video section');
  return transceiver;
}
