import { openAsBlob } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { io, type Socket } from 'socket.io-client';
import type { ClientToServerEvents, SearchResponse, ServerToClientEvents, VideoJob } from '@chronotrace/contracts';

export const USAGE = `usage:
  chronotrace ingest FILE… [--url URL] [--json]
      upload local videos to a running ChronoTrace and wait for each to be redacted, tracked and
      recorded; one progress bar per file. Exit code 1 if any file was refused or failed.
  chronotrace search "TEXT" [--camera ID] [--from T] [--to T] [--limit N] [--url URL] [--json]
      search recorded history ("person in red yesterday after 18:00"); a table, or the API's JSON.
options:
  --url URL   the server (default $CHRONOTRACE_URL or http://127.0.0.1:8080)
  --json      machine-readable output on stdout
`;

interface Out {
  write(s: string): void;
}

export interface CliIo {
  stdout: Out;
  stderr: Out;
  /** Progress bars are drawn only on a terminal. */
  tty: boolean;
}

const defaultIo: CliIo = { stdout: process.stdout, stderr: process.stderr, tty: process.stderr.isTTY === true };

/** Runs a command line; returns the exit code. */
export async function main(argv: string[], cio: CliIo = defaultIo): Promise<number> {
  const [command, ...rest] = argv;
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        camera: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        limit: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    cio.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  const url = (parsed.values.url ?? process.env.CHRONOTRACE_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
  if (parsed.values.help || !command) {
    cio.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  try {
    if (command === 'ingest') return await ingest(url, parsed.positionals, parsed.values.json === true, cio);
    if (command === 'search') {
      const q = parsed.positionals.join(' ').trim();
      if (!q) {
        cio.stderr.write(`search needs a text\n${USAGE}`);
        return 2;
      }
      return await search(url, q, { camera: parsed.values.camera, from: parsed.values.from, to: parsed.values.to, limit: parsed.values.limit }, parsed.values.json === true, cio);
    }
  } catch (e) {
    const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
    cio.stderr.write(`chronotrace: ${e instanceof Error ? e.message : String(e)}${cause} (is the server at ${url} running?)\n`);
    return 1;
  }
  cio.stderr.write(`unknown command "${command}"\n${USAGE}`);
  return 2;
}

async function ingest(url: string, files: string[], json: boolean, cio: CliIo): Promise<number> {
  if (files.length === 0) {
    cio.stderr.write(`ingest needs at least one file\n${USAGE}`);
    return 2;
  }
  const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, { transports: ['websocket'], reconnectionAttempts: 5 });
  const waiting = new Map<string, (job: VideoJob) => void>();
  const latest = new Map<string, VideoJob>();
  const bars = cio.tty && !json ? new cliProgress.MultiBar({ format: ' {bar} {percentage}% | {name} | {status}', hideCursor: true, clearOnComplete: false, stream: process.stderr }, cliProgress.Presets.shades_classic) : null;
  const barOf = new Map<string, cliProgress.SingleBar>();
  socket.on('videoJob', (job) => {
    latest.set(job.id, job);
    barOf.get(job.id)?.update(job.progress.percent, { status: status(job) });
    if (job.state !== 'processing') waiting.get(job.id)?.(job);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (e) => reject(new Error(`cannot reach ${url}: ${e.message}`)));
  });
  const results: ({ file: string } & ({ ok: true; job: VideoJob } | { ok: false; status: number; error: string }))[] = [];
  try {
    for (const file of files) {
      const name = basename(file);
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch {
        results.push({ file, ok: false, status: 0, error: 'no such file' });
        if (!bars && !json) cio.stderr.write(`${name}: no such file\n`);
        continue;
      }
      const bar = bars?.create(100, 0, { name, status: `uploading ${(size / 1024 ** 2).toFixed(1)} MB` });
      const form = new FormData();
      // Streamed from disk, not read into memory.
      form.set('file', await openAsBlob(file), name);
      const res = await fetch(`${url}/api/videos`, { method: 'POST', body: form });
      const body = (await res.json()) as VideoJob & { error?: string };
      if (!res.ok) {
        bar?.update(0, { status: `refused: ${body.error ?? res.status}` });
        bar?.stop();
        if (!bars && !json) cio.stderr.write(`${name}: refused (${res.status}): ${body.error ?? ''}\n`);
        results.push({ file, ok: false, status: res.status, error: body.error ?? `HTTP ${res.status}` });
        continue;
      }
      if (bar) barOf.set(body.id, bar);
      const ended = latest.get(body.id)?.state !== 'processing' && latest.has(body.id) ? latest.get(body.id)! : await new Promise<VideoJob>((resolve) => waiting.set(body.id, resolve));
      bar?.update(ended.progress.percent, { status: status(ended) });
      bar?.stop();
      if (!bars && !json) cio.stderr.write(`${name}: ${status(ended)}\n`);
      results.push({ file, ok: ended.state === 'done', ...(ended.state === 'done' ? { job: ended } : { status: 422, error: ended.error ?? ended.state }) } as (typeof results)[number]);
    }
  } finally {
    bars?.stop();
    socket.close();
  }
  if (json) cio.stdout.write(`${JSON.stringify(results)}\n`);
  return results.every((r) => r.ok) ? 0 : 1;
}

function status(job: VideoJob): string {
  const p = job.progress;
  if (job.state === 'processing') return `${p.redacted}/${p.totalFrames} frames${p.speedX ? `, ${p.speedX}× real time` : ''}${p.etaS !== null ? `, ${Math.round(p.etaS)} s left` : ''}`;
  if (job.state === 'done') return `done: ${p.redacted} frames redacted, camera ${job.camera}`;
  return `${job.state}${job.error ? `: ${job.error}` : ''}`;
}

async function search(url: string, q: string, f: { camera?: string | undefined; from?: string | undefined; to?: string | undefined; limit?: string | undefined }, json: boolean, cio: CliIo): Promise<number> {
  const params = new URLSearchParams({ q });
  for (const [k, v] of Object.entries(f)) if (v !== undefined) params.set(k, v);
  const res = await fetch(`${url}/api/search?${params}`);
  const body = (await res.json()) as SearchResponse & { error?: string; details?: string[]; unknownTerms?: string[]; suggestions?: Record<string, string[]> };
  if (json) {
    cio.stdout.write(`${JSON.stringify(body)}\n`);
    return res.ok ? 0 : 1;
  }
  if (!res.ok) {
    const hints = Object.entries(body.suggestions ?? {}).map(([w, s]) => `  "${w}": did you mean ${s.join(', ')}?`);
    cio.stderr.write(`${body.error ?? `HTTP ${res.status}`}\n${[...(body.details ?? []).map((d) => `  ${d}`), ...hints].join('\n')}${hints.length || body.details?.length ? '\n' : ''}`);
    return 1;
  }
  cio.stdout.write(`${body.explanation}\n`);
  const rows = body.hits.map((h) => [h.score.toFixed(2), h.label, h.cameraName, new Date(h.start).toISOString().replace('T', ' ').slice(0, 19), `${Math.round((h.end - h.start) / 1000)} s`, h.trackId, `${url}/play?camera=${encodeURIComponent(h.camera)}&at=${h.playAt}`]);
  cio.stdout.write(table(['score', 'what', 'camera', 'start (UTC)', 'in view', 'track', 'play'], rows));
  cio.stdout.write(`${body.hits.length} result${body.hits.length === 1 ? '' : 's'}${body.nextCursor ? ' (more: --json gives the cursor)' : ''}\n`);
  return 0;
}

/** A plain text table, columns padded to their widest cell. */
export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`;
  return line(head) + line(widths.map((w) => '-'.repeat(w))) + rows.map(line).join('');
}
