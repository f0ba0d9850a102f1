import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { Backoff, type Logger } from '@chronotrace/platform';
import type { FfmpegBinary } from '../ffmpeg-binary';
import { readJpegDimensions } from '../jpeg-dimensions';

/** The RTP payload type ffmpeg stamps (werift rewrites it to the one each viewer negotiated). */
export const ENCODER_PAYLOAD_TYPE = 96;
/** RTP packets at most this big: fits a 1500-byte MTU after SRTP, UDP, IP and TURN overheads. */
export const RTP_PACKET_BYTES = 1_200;
/** A keyframe this often, so a viewer who joins sees video within this long. */
export const KEYFRAME_INTERVAL_MS = 1_000;
/** Frames waiting in ffmpeg's stdin beyond this many bytes are dropped rather than queued (stay live). */
const MAX_PENDING_BYTES = 2 * 1024 * 1024;

export interface H264RtpEncoderOptions {
  camera: string;
  ffmpeg: FfmpegBinary;
  /** The camera's video rate: sets the keyframe interval (frames). */
  fps: number;
  log: Logger;
  /** Constant rate factor of libx264 (lower is better, bigger). Default 26. */
  crf?: number;
  /** Peak bitrate, kbit/s. Default 2 000. */
  maxKbps?: number;
}

export interface EncoderStats {
  framesIn: number;
  /** Frames not encoded: ffmpeg was behind, (re)starting, or the frame was not a JPEG. */
  framesDropped: number;
  /** Frames ffmpeg finished (RTP packets with the marker bit). */
  framesOut: number;
  packetsOut: number;
  /** ffmpeg processes started after the first (size change, crash). */
  restarts: number;
  /** CPU seconds used by this camera's ffmpeg processes so far (from /proc; 0 where unavailable). */
  cpuSeconds: number;
  width: number | null;
  height: number | null;
}

type PacketListener = (packet: Buffer) => void;

/**
 * One camera's H.264 encoder: redacted JPEG frames in, RTP (RFC 6184, packetization mode 1) out. An
 * ffmpeg process decodes each frame and encodes it with libx264 (ultrafast, zerolatency, baseline, no
 * B-frames, one slice) and its RTP muxer sends the packets to a UDP socket of ours on loopback; each
 * packet goes to every listener. Frames are written as a multipart stream with Content-Length, so ffmpeg
 * takes each one as soon as it has arrived (a bare JPEG stream would wait for the next frame's start).
 * Frame size changes restart ffmpeg; a crash restarts it with backoff. Never throws at a caller.
 */
export class H264RtpEncoder {
  private child: ChildProcess | null = null;
  private socket: Socket | null = null;
  private readonly listeners = new Set<PacketListener>();
  private closed = false;
  private size: { width: number; height: number } | null = null;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
  private restartTimer: NodeJS.Timeout | null = null;
  private starting: Promise<void> | null = null;
  /** The newest frame that arrived while ffmpeg was starting. */
  private waiting: { jpeg: Uint8Array; capturedAt: number } | null = null;
  /** Frames written to ffmpeg and not yet out (one output frame per input frame): capture time and RTP time. */
  private inFlight: { capturedAt: number; rtp: number }[] = [];
  /** The last frame's send stamp (ms): stamps strictly increase. */
  private lastStamp = 0;
  /** RTP timestamp → capture time of the last frames out. */
  private readonly captureByRtp = new Map<number, number>();
  private lastStderr: string[] = [];
  private cpuOfExited = 0;
  private readonly counters = { framesIn: 0, framesDropped: 0, framesOut: 0, packetsOut: 0, restarts: 0 };
  private started = 0;

  constructor(private readonly o: H264RtpEncoderOptions) {}

  get camera(): string {
    return this.o.camera;
  }

  /** Receives every RTP packet from now on. Returns the unsubscribe. */
  onPacket(listener: PacketListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Encodes one redacted frame (JPEG), captured at `capturedAt` (ms epoch; for captureTimeOf). Dropped,
   * not queued, while ffmpeg is behind; while it (re)starts the newest frame waits for it.
   */
  push(jpeg: Uint8Array, capturedAt = Date.now()): void {
    if (this.closed) return;
    this.counters.framesIn++;
    const dims = readJpegDimensions(jpeg);
    if (!dims) {
      this.counters.framesDropped++;
      return;
    }
    if (!this.size || this.size.width !== dims.width || this.size.height !== dims.height) {
      if (this.size) this.o.log.info({ camera: this.o.camera, from: this.size, to: dims }, 'frame size changed: restarting the encoder');
      this.size = { width: dims.width, height: dims.height };
      this.restart();
    }
    if (this.starting || !this.child) {
      // ffmpeg is (re)starting: the newest frame waits for it, older ones are dropped.
      if (this.waiting) this.counters.framesDropped++;
      this.waiting = { jpeg, capturedAt };
      return;
    }
    this.write(jpeg, capturedAt);
  }

  /**
   * The capture time of the frame sent with this RTP timestamp (recent frames only). Viewers see the
   * encoder's timestamps unchanged, so a player can tell how old the picture it shows is.
   */
  captureTimeOf(rtpTimestamp: number): number | undefined {
    return this.captureByRtp.get(rtpTimestamp >>> 0);
  }

  private write(jpeg: Uint8Array, capturedAt: number): void {
    const stdin = this.child?.stdin;
    if (!stdin || !stdin.writable || stdin.writableLength > MAX_PENDING_BYTES) {
      this.counters.framesDropped++;
      return;
    }
    // RTP time = when the frame reached the encoder, so players pace frames as they arrive and buffer
    // only for network jitter (stamping the capture time would make them buffer for the pipeline's).
    const stamp = Math.max(Date.now(), this.lastStamp + 1);
    this.lastStamp = stamp;
    this.inFlight.push({ capturedAt, rtp: rtpTimeOf(stamp) });
    stdin.write(mpjpegPart(jpeg));
  }

  stats(): EncoderStats {
    return {
      ...this.counters,
      cpuSeconds: this.cpuOfExited + this.cpuOfRunning(),
      width: this.size?.width ?? null,
      height: this.size?.height ?? null,
    };
  }

  private restart(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = null;
    const starting = this.stopChild().then(() => this.startChild());
    this.starting = starting;
    void starting
      .catch((err: unknown) => this.o.log.error({ err, camera: this.o.camera }, 'cannot start the encoder'))
      .finally(() => {
        if (this.starting !== starting) return;
        this.starting = null;
        const next = this.waiting;
        this.waiting = null;
        if (next && this.child) this.write(next.jpeg, next.capturedAt);
        else if (next) this.counters.framesDropped++;
      });
  }

  private async ensureSocket(): Promise<Socket> {
    if (this.socket) return this.socket;
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('message', (packet, from) => {
      // Only our ffmpeg sends here; anything else on loopback is ignored.
      if (from.address !== '127.0.0.1' || packet.length < 12 || (packet[0]! & 0xc0) !== 0x80) return;
      this.counters.packetsOut++;
      // Our own RTP time (ffmpeg's are its demuxer's 40 ms ticks), remembered with the capture time.
      const frame = this.inFlight[0];
      if (frame !== undefined) packet.writeUInt32BE(frame.rtp, 4);
      if (packet[1]! & 0x80) {
        this.counters.framesOut++;
        this.inFlight.shift();
        if (frame !== undefined) {
          this.captureByRtp.set(frame.rtp, frame.capturedAt);
          if (this.captureByRtp.size > 900) this.captureByRtp.delete(this.captureByRtp.keys().next().value!);
        }
      }
      for (const l of this.listeners) {
        try {
          l(packet);
        } catch (err) {
          this.o.log.warn({ err, camera: this.o.camera }, 'RTP listener threw');
        }
      }
    });
    socket.on('error', (err) => this.o.log.warn({ err, camera: this.o.camera }, 'encoder socket error'));
    this.socket = socket;
    return socket;
  }

  private async startChild(): Promise<void> {
    if (this.closed || !this.size) return;
    const socket = await this.ensureSocket();
    const gop = Math.max(1, Math.round((this.o.fps * KEYFRAME_INTERVAL_MS) / 1000));
    const { width, height } = this.size;
    // libx264 needs even dimensions; pad by one pixel when a camera sends odd ones.
    const vf = `scale=${width + (width % 2)}:${height + (height % 2)}:flags=fast_bilinear,format=yuv420p`;
    const args = [
      '-hide_banner', '-loglevel', 'error', '-nostats',
      '-f', 'mpjpeg', '-use_wallclock_as_timestamps', '1', '-i', 'pipe:0',
      '-an', '-vf', vf,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-profile:v', 'baseline',
      '-threads', '1', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0', '-bf', '0',
      '-crf', String(this.o.crf ?? 26), '-maxrate', `${this.o.maxKbps ?? 2_000}k`, '-bufsize', `${this.o.maxKbps ?? 2_000}k`,
      // One output frame per input frame, timed by arrival; SPS/PPS before every keyframe (viewers join mid-stream).
      '-vsync', 'passthrough', '-bsf:v', 'dump_extra',
      '-f', 'rtp', '-payload_type', String(ENCODER_PAYLOAD_TYPE), '-pkt_size', String(RTP_PACKET_BYTES),
      `rtp://127.0.0.1:${socket.address().port}`,
    ];
    const child = spawn(this.o.ffmpeg.path, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    this.inFlight = [];
    this.child = child;
    this.started = Date.now();
    this.lastStderr = [];
    child.stdin?.on('error', () => undefined); // EPIPE when ffmpeg dies: the exit handler restarts it
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split(/\r?\n/)) if (line.trim() && !/deprecated/.test(line)) this.lastStderr = [...this.lastStderr.slice(-9), line.trim()];
    });
    child.once('error', (err) => this.o.log.error({ err, camera: this.o.camera }, 'cannot run ffmpeg for the encoder'));
    child.once('exit', (code, signal) => {
      this.cpuOfExited += this.cpuOf(child);
      if (this.child !== child) return; // replaced on purpose
      this.child = null;
      if (this.closed) return;
      if (Date.now() - this.started > 30_000) this.backoff.reset();
      const delay = this.backoff.next();
      this.o.log.warn({ camera: this.o.camera, code, signal, stderr: this.lastStderr, restartInMs: delay }, 'encoder exited; restarting it');
      this.restartTimer = setTimeout(() => this.restart(), delay);
    });
    this.o.log.info({ camera: this.o.camera, width, height, gop, pid: child.pid }, 'encoder started');
    if (this.counters.framesOut > 0 || this.counters.packetsOut > 0) this.counters.restarts++;
  }

  private cpuTicks = new Map<number, number>();
  /** CPU seconds of a running child, from /proc/<pid>/stat (utime + stime); 0 where there is no /proc. */
  private cpuOf(child: ChildProcess): number {
    return (child.pid !== undefined ? this.cpuTicks.get(child.pid) : undefined) ?? 0;
  }

  private cpuOfRunning(): number {
    const child = this.child;
    if (!child?.pid) return 0;
    const secs = procCpuSeconds(child.pid);
    if (secs !== null) this.cpuTicks.set(child.pid, secs);
    return this.cpuOf(child);
  }

  private async stopChild(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.cpuOfRunning();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    child.kill('SIGTERM');
    await exited;
    clearTimeout(killer);
  }

  /** Stops ffmpeg and the socket. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.listeners.clear();
    await this.starting?.catch(() => undefined);
    await this.stopChild();
    this.socket?.close();
    this.socket = null;
  }
}

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * One JPEG as a part of a multipart stream with Content-Length (ffmpeg's `-f mpjpeg` input), so ffmpeg
 * takes each frame as soon as it has arrived (a bare JPEG stream would wait for the next frame's start).
 */
export function mpjpegPart(jpeg: Uint8Array): Buffer {
  const head = Buffer.from(`--ctframe\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.byteLength}\r\n\r\n`, 'latin1');
  return Buffer.concat([head, jpeg, CRLF]);
}

/** A time (ms epoch) as a 90 kHz RTP timestamp (wraps every 13.25 h). */
export function rtpTimeOf(ms: number): number {
  return Math.round(ms * 90) % 2 ** 32;
}

const TICKS_PER_SECOND = 100;
/** utime + stime of a process in seconds, or null (no /proc, or it is gone). */
export function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) / TICKS_PER_SECOND : null;
  } catch {
    return null;
  }
}
