import { offerTo } from './whep';

export type PublishState = 'idle' | 'camera' | 'connecting' | 'connected' | 'failed' | 'stopped';

/**
 * Publishes this device's camera to a WebRTC camera over WHIP: asks for the camera, shows it, sends it
 * with the camera's publish token, reports the connection state, and on stop DELETEs the session and
 * releases the camera.
 */
export class WhipPublisher {
  private pc: RTCPeerConnection | null = null;
  private stream: MediaStream | null = null;
  private location: string | null = null;
  private stopped = false;

  constructor(
    private readonly camera: string,
    private readonly token: string,
    private readonly onState: (state: PublishState, detail?: string) => void,
  ) {}

  /** Opens the device camera (the browser asks for permission) and returns the preview stream. */
  async open(): Promise<MediaStream> {
    this.onState('camera');
    this.stream = await navigator.mediaDevices.getUserMedia({ audio: false, video: { width: { ideal: 1280 }, frameRate: { ideal: 15 } } });
    return this.stream;
  }

  async publish(): Promise<void> {
    const stream = this.stream;
    if (!stream) throw new Error('open() the camera first');
    this.onState('connecting');
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    for (const track of stream.getVideoTracks()) pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    pc.onconnectionstatechange = () => {
      if (this.stopped) return;
      if (pc.connectionState === 'connected') this.onState('connected');
      else if (pc.connectionState === 'failed' || pc.connectionState === 'disconnected') this.onState('failed', `the connection ${pc.connectionState}`);
    };
    const answer = await offerTo(pc, `/whip/${encodeURIComponent(this.camera)}`, { authorization: `Bearer ${this.token}` });
    if (!answer.ok) {
      this.onState('failed', answer.reason);
      pc.close();
      this.pc = null;
      return;
    }
    this.location = answer.location;
    await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
  }

  /** Ends publishing and releases the device camera. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pc?.close();
    this.pc = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    const where = this.location;
    this.location = null;
    if (where) await fetch(where, { method: 'DELETE', headers: { authorization: `Bearer ${this.token}` }, keepalive: true }).catch(() => undefined);
    this.onState('stopped');
  }
}
