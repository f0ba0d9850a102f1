import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import installer from '@ffmpeg-installer/ffmpeg';

const execFileAsync = promisify(execFile);

/** The ffmpeg this process runs, and what it supports. */
export interface FfmpegBinary {
  /** Absolute path of the executable. */
  path: string;
  /** 'system': found on PATH (e.g. Debian's, preferred). 'bundled': @ffmpeg-installer/ffmpeg's static build. */
  origin: 'system' | 'bundled';
  /** Version string from `ffmpeg -version`, e.g. "5.1.9-0+deb12u1" or "N-47683-g0e8eb07980-static". */
  version: string;
  /**
   * The RTSP demuxer's socket I/O timeout option (µs): `timeout` on ffmpeg ≥ 5; `stimeout` on older
   * builds, where `-timeout` meant "listen for incoming connections" instead.
   */
  rtspTimeoutOption: 'timeout' | 'stimeout';
}

export class FfmpegNotFoundError extends Error {
  override name = 'FfmpegNotFoundError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
  static is(error: unknown): error is FfmpegNotFoundError {
    return error instanceof FfmpegNotFoundError;
  }
}

async function isExecutable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, pathVar: string | undefined): Promise<string | null> {
  for (const dir of (pathVar ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

/** Runs `-version` and `-h demuxer=rtsp` on one binary. */
export async function probeFfmpeg(path: string, origin: FfmpegBinary['origin']): Promise<FfmpegBinary> {
  const { stdout } = await execFileAsync(path, ['-hide_banner', '-version'], { timeout: 10_000 });
  const version = /ffmpeg version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  const help = await execFileAsync(path, ['-hide_banner', '-h', 'demuxer=rtsp'], { timeout: 10_000 });
  const rtspTimeoutOption = /^\s*-stimeout\b/m.test(help.stdout) ? 'stimeout' : 'timeout';
  return { path, origin, version, rtspTimeoutOption };
}

let cached: Promise<FfmpegBinary> | undefined;

/**
 * The ffmpeg to run: the system one on PATH when present (Debian's is newer and preferred),
 * else the static build from @ffmpeg-installer/ffmpeg. Probed once and cached for the process.
 * Throws FfmpegNotFoundError when neither runs.
 */
export function resolveFfmpeg(): Promise<FfmpegBinary> {
  cached ??= (async () => {
    const system = await findOnPath('ffmpeg', process.env.PATH);
    if (system) {
      try {
        return await probeFfmpeg(system, 'system');
      } catch {
        // A broken system ffmpeg: fall through to the bundled build.
      }
    }
    try {
      return await probeFfmpeg(installer.path, 'bundled');
    } catch (error) {
      throw new FfmpegNotFoundError(`no working ffmpeg: none on PATH and the bundled one at ${installer.path} did not run`, { cause: error });
    }
  })();
  // Do not cache a failure: a later call may find ffmpeg after it is installed.
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}
