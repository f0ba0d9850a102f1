/** How long ICE gathering may take before the offer goes out with the candidates found so far. */
const GATHER_TIMEOUT_MS = 2_000;
/** A connection not up this long after the answer counts as failed. */
const CONNECT_TIMEOUT_MS = 10_000;

export type WhepState = 'connecting' | 'connected' | 'failed' | 'closed';

/** Whether this browser can play WebRTC video at all. */
export function webRtcSupported(): boolean {
  return typeof RTCPeerConnection === 'function' && typeof MediaStream === 'function';
}

/**
 * A WHEP viewer of one camera: offers to receive video, posts the offer to `/whep/<camera>`, plays the
 * answer's stream and DELETEs the session when closed. Reports state changes; 'failed' carries a
 * reason (the server's error text when it refused).
 */
export class WhepViewer {
  private pc: RTCPeerConnection | null = null;
  private location: string | null = null;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly camera: string,
    private readonly onStream: (stream: MediaStream) => void,
    private readonly onState: (state: WhepState, reason?: string) => void,
  ) {}

  async start(): Promise<void> {
    try {
      const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      this.pc = pc;
      const t = pc.addTransceiver('video', { direction: 'recvonly' });
      // A live wall wants the newest picture: ask for the smallest jitter buffer (Chrome: playoutDelayHint too).
      const receiver = t.receiver as RTCRtpReceiver & { jitterBufferTarget?: number | null; playoutDelayHint?: number };
      if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0;
      if ('playoutDelayHint' in receiver) receiver.playoutDelayHint = 0;
      pc.ontrack = (e) => this.onStream(e.streams[0] ?? new MediaStream([e.track]));
      pc.onconnectionstatechange = () => {
        if (this.closed) return;
        if (pc.connectionState === 'connected') {
          clearTimeout(this.timer);
          this.onState('connected');
        } else if (pc.connectionState === 'failed') this.fail('the WebRTC connection failed');
      };
      const answer = await offerTo(pc, `/whep/${encodeURIComponent(this.camera)}`);
      if (!answer.ok) return this.fail(answer.reason);
      this.location = answer.location;
      if (this.closed) {
        void this.deleteSession();
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: answer.sdp });
      this.timer = setTimeout(() => {
        if (pc.connectionState !== 'connected') this.fail('the WebRTC connection did not come up');
      }, CONNECT_TIMEOUT_MS);
    } catch (e) {
      this.fail(e instanceof Error ? e.message : String(e));
    }
  }

  private fail(reason: string): void {
    if (this.closed) return;
    this.onState('failed', reason);
    this.close();
  }

  private async deleteSession(): Promise<void> {
    const where = this.location;
    this.location = null;
    // keepalive: the DELETE still goes out when the page is being closed.
    if (where) await fetch(where, { method: 'DELETE', keepalive: true }).catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.pc?.close();
    this.pc = null;
    void this.deleteSession();
    this.onState('closed');
  }
}

export type OfferResult = { ok: true; sdp: string; location: string | null } | { ok: false; reason: string };

/**
 * Creates the offer, waits for ICE gathering (no trickle), POSTs it to a WHEP/WHIP endpoint and returns
 * the answer and the session's Location, or the server's reason (its JSON `error`) when it refused.
 */
export async function offerTo(pc: RTCPeerConnection, url: string, headers: Record<string, string> = {}): Promise<OfferResult> {
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/sdp', ...headers }, body: pc.localDescription?.sdp ?? '' });
  const text = await res.text();
  if (res.status !== 201) {
    let reason = `HTTP ${res.status}`;
    try {
      reason = (JSON.parse(text) as { error?: string }).error ?? reason;
    } catch {
      // not JSON: keep the status
    }
    return { ok: false, reason };
  }
  return { ok: true, sdp: text, location: res.headers.get('location') };
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = (): void => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener('icegatheringstatechange', check);
  });
}
