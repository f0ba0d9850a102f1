import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Box, ReidLink, VideoJob } from '@chronotrace/contracts';
import type { Runtime } from '../../web/server/runtime';

const run = promisify(execFile);

export const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';
const FULL = { width: 768, height: 576 };

/**
 * The two-camera split of vtest.avi: camera A sees the left 55 % of the picture, camera B the right 55 %
 * without its top tenth (the same footage cropped differently; they overlap in a strip in the middle),
 * and B plays DELAY_S later, as if the people walked on to a second camera. A person seen by both is,
 * by construction, where both crops' boxes coincide once mapped back onto the full picture at the same
 * footage time: that known geometry is the ground truth, independent of how anyone looks.
 */
export const SPLIT = {
  A: { x: 0, y: 0, w: 422, h: 576 },
  B: { x: 346, y: 58, w: 422, h: 518 },
  DELAY_S: 40,
} as const;

export interface ReidSplitFigures {
  precision: number;
  recall: number;
  /** Links made between the two cameras. */
  links: number;
  correct: number;
  /** Tracks on B that continue an A track of the same person which ended before they started (what recall counts). */
  linkable: number;
  /** Person tracks on each camera. */
  tracks: { A: number; B: number };
  /** A link to inspect (the first correct one), for the identity API. */
  sample: ReidLink | null;
  cameras: { A: string; B: string };
  how: string;
}

export interface Seen {
  /** Footage time, ms from the clip's start. */
  at: number;
  box: Box;
}

export interface TrackLife {
  id: string;
  start: number;
  end: number;
  seen: Seen[];
}

function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const i = w * h;
  return i / (a.w * a.h + b.w * b.h - i);
}

/** Boxes of the same footage frames coincide (median IoU ≥ 0.4 over at least two common frames). */
export function samePerson(a: TrackLife, b: TrackLife): boolean {
  const byAt = new Map(a.seen.map((s) => [s.at, s.box]));
  const overlaps: number[] = [];
  for (const s of b.seen) {
    const box = byAt.get(s.at);
    if (box) overlaps.push(iou(box, s.box));
  }
  if (overlaps.length < 2) return false;
  overlaps.sort((x, y) => x - y);
  return overlaps[Math.floor(overlaps.length / 2)]! >= 0.4;
}

async function upload(rt: Runtime, file: string, name: string): Promise<VideoJob> {
  const form = new FormData();
  form.set('file', new Blob([await readFile(file)]), name);
  const res = await fetch(`${rt.url}/api/videos`, { method: 'POST', body: form });
  if (res.status !== 202) throw new Error(`upload refused: ${res.status} ${await res.text()}`);
  const job = (await res.json()) as VideoJob;
  let last = job;
  // The job's own progress, polled: it ends in seconds (faster than real time).
  while (last.state === 'processing') {
    await new Promise((r) => setTimeout(r, 200));
    last = (await (await fetch(`${rt.url}/api/videos/${job.id}`)).json()) as VideoJob;
  }
  if (last.state !== 'done') throw new Error(`upload ${name} ended ${last.state}: ${last.error}`);
  return last;
}

/** Waits until the scene and re-ID stages have handled everything the uploads produced. */
async function drained(rt: Runtime, cameras: string[], frames: number): Promise<void> {
  const a = rt.analytics;
  if (!a?.reid) throw new Error('the re-ID stage is not running in this runtime');
  const deadline = Date.now() + 120_000;
  for (;;) {
    const s = a.toJSON();
    const processed = cameras.reduce((n, c) => n + (s.scene.cameras[c]?.processed ?? 0) + (s.scene.cameras[c]?.stale ?? 0), 0);
    const announced = cameras.reduce((n, c) => n + (s.scene.cameras[c]?.trackEvents ?? 0), 0);
    if (processed >= frames && s.reid!.core.events >= announced) return;
    if (Date.now() > deadline) throw new Error(`stages did not drain: ${processed}/${frames} frames tracked, ${s.reid!.core.events}/${announced} track events linked`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Uploads both crops (A, then B with its start DELAY_S later) to a running embedded runtime, waits for
 * tracking and re-identification, and scores the stored links against the geometric truth: a link is
 * correct when its two tracks are the same person; recall is over the B tracks that have an A track of
 * the same person ending before they start.
 */
export async function measureReidSplit(rt: Runtime): Promise<ReidSplitFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'ct-reid-split-'));
  try {
    const t0 = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    const files = { A: join(dir, 'camera-a.mp4'), B: join(dir, 'camera-b.mp4') };
    for (const k of ['A', 'B'] as const) {
      const c = SPLIT[k];
      const created = new Date(t0 + (k === 'B' ? SPLIT.DELAY_S * 1000 : 0)).toISOString();
      await run('ffmpeg', ['-v', 'error', '-y', '-i', VTEST, '-vf', `crop=${c.w}:${c.h}:${c.x}:${c.y}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-metadata', `creation_time=${created}`, files[k]]);
    }
    const a = await upload(rt, files.A, 'camera-a.mp4');
    const b = await upload(rt, files.B, 'camera-b.mp4');
    await drained(rt, [a.camera, b.camera], a.progress.redacted + b.progress.redacted);

    const lives = async (job: VideoJob, crop: (typeof SPLIT)['A' | 'B']): Promise<Map<string, TrackLife>> => {
      const frames = await rt.ports.store.scene.frames({ from: job.startAt, to: job.startAt + job.durationS * 1000 + 1_000, cameras: [job.camera], limit: 100_000 });
      const out = new Map<string, TrackLife>();
      for (const f of frames) {
        const sx = crop.w / f.width;
        const sy = crop.h / f.height;
        for (const t of f.tracks) {
          if (t.label !== 'person' || t.lastSeen !== f.capturedAt) continue;
          let l = out.get(t.id);
          if (!l) out.set(t.id, (l = { id: t.id, start: f.capturedAt, end: f.capturedAt, seen: [] }));
          l.end = f.capturedAt;
          l.seen.push({ at: f.capturedAt - job.startAt, box: { x: t.box.x * sx + crop.x, y: t.box.y * sy + crop.y, w: t.box.w * sx, h: t.box.h * sy } });
        }
      }
      for (const [id, l] of out) if (l.seen.length < 3) out.delete(id);
      return out;
    };
    const A = await lives(a, SPLIT.A);
    const B = await lives(b, SPLIT.B);
    const links = (await rt.ports.store.reid.recent(0, 10_000)).filter((l) => l.fromCamera === a.camera && l.toCamera === b.camera);
    let correct = 0;
    let sample: ReidLink | null = null;
    for (const l of links) {
      const from = A.get(l.from);
      const to = B.get(l.to);
      if (from && to && samePerson(from, to)) {
        correct++;
        sample ??= l;
      }
    }
    let linkable = 0;
    for (const t of B.values()) if ([...A.values()].some((s) => s.end <= t.start && samePerson(s, t))) linkable++;
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      precision: links.length > 0 ? round(correct / links.length) : 0,
      recall: linkable > 0 ? round(correct / linkable) : 0,
      links: links.length,
      correct,
      linkable,
      tracks: { A: A.size, B: B.size },
      sample,
      cameras: { A: a.camera, B: b.camera },
      how: `vtest.avi split into two uploaded cameras (A: x 0–${SPLIT.A.w}; B: x ${SPLIT.B.x}–${FULL.width}, y ${SPLIT.B.y}–${FULL.height}, ${SPLIT.DELAY_S} s later), through privacy, tracking and the re-ID stage of an embedded runtime; truth: the two tracks' boxes coincide on the full picture at the same footage time (median IoU ≥ 0.4); precision over A→B links, recall over B tracks with a same-person A track that ended before they started`,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
