import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert, EvidenceExport, RecordingIndexResponse, StandingQuery } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * Evidence export end to end (embedded): vtest.avi is recorded and a "person" query alerts; an export
 * of the seconds around the alert gives an MP4 that plays, whose hash is the one reported, and an
 * incident report whose PDF renders (pdftoppm) and lists the alert and its query.
 */
describe('POST /api/exports', () => {
  let t: TestRuntime;
  let dir: string;
  let alert: Alert;
  const post = async (body: unknown): Promise<{ status: number; body: EvidenceExport & { error?: string; details?: string[] } }> => {
    const r = await fetch(`${t.url}/api/exports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: r.status, body: (await r.json()) as EvidenceExport & { error?: string; details?: string[] } };
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ct-export-'));
    t = await startTestRuntime([{ id: 'street', name: 'Street crossing', source: VTEST, fps: 5, width: 480, timeZone: 'Europe/Paris' }], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0', MATCH_COOLDOWN_S: '0' });
    const q = (await (await fetch(`${t.url}/api/queries`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'person', severity: 'warning' }) })).json()) as StandingQuery;
    // An alert with 3 s of recording on both sides (every new person track alerts: no cooldown).
    alert = await waitFor(
      'an alert inside the recording',
      async () => {
        const r = (await (await fetch(`${t.url}/api/cameras/street/recording`)).json()) as RecordingIndexResponse;
        const first = r.segments[0]?.startAt;
        const last = r.segments[r.segments.length - 1]?.endAt;
        if (first === undefined || last === undefined) return undefined;
        const alerts = (await (await fetch(`${t.url}/api/alerts?query=${q.id}`)).json()) as Alert[];
        return alerts.find((a) => a.capturedAt >= first + 3_000 && a.capturedAt <= last - 3_000);
      },
      120_000,
      500,
    );
  }, 180_000);
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('exports a redacted MP4 with its hash and an incident report (HTML and PDF) listing the alert, and holds the range', async () => {
    const from = alert.capturedAt - 3_000;
    const to = alert.capturedAt + 3_000;
    const r = await post({ camera: 'street', from, to, reason: 'incident 42: person at the crossing' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ camera: 'street', from, to, state: 'processing', requestedBy: 'local', reason: 'incident 42: person at the crossing' });
    const done = await waitFor(
      'the export',
      async () => {
        const e = (await (await fetch(`${t.url}/api/exports/${r.body.id}`)).json()) as EvidenceExport;
        return e.state !== 'processing' ? e : undefined;
      },
      90_000,
      300,
    );
    expect(done.error).toBeNull();
    expect(done.state).toBe('done');
    expect(done.files).toEqual({ mp4: `/api/exports/${done.id}/clip.mp4`, html: `/api/exports/${done.id}/report.html`, pdf: `/api/exports/${done.id}/report.pdf` });

    const mp4 = Buffer.from(await (await fetch(`${t.url}${done.files!.mp4}`)).arrayBuffer());
    expect(createHash('sha256').update(mp4).digest('hex')).toBe(done.mp4Sha256);
    expect(mp4.length).toBe(done.mp4Bytes);
    await writeFile(join(dir, 'clip.mp4'), mp4);
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=codec_name,width,nb_read_frames:format=duration', '-of', 'json', join(dir, 'clip.mp4')]);
    const probe = JSON.parse(stdout) as { streams: { codec_name: string; width: number; nb_read_frames: string }[]; format: { duration: string } };
    expect(probe.streams[0]).toMatchObject({ codec_name: 'h264', width: 480 });
    expect(Number(probe.streams[0]!.nb_read_frames)).toBeGreaterThan(15);
    expect(Math.abs(Number(probe.format.duration) - (to - from) / 1000)).toBeLessThan(1);

    const html = await (await fetch(`${t.url}${done.files!.html}`)).text();
    expect(html).toContain('Incident report');
    expect(html).toContain(done.mp4Sha256!);
    expect(html).toContain('incident 42: person at the crossing');

    const pdf = Buffer.from(await (await fetch(`${t.url}${done.files!.pdf}`)).arrayBuffer());
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    await writeFile(join(dir, 'report.pdf'), pdf);
    await run('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', join(dir, 'report.pdf'), join(dir, 'page')]);
    expect((await stat(join(dir, 'page-1.png'))).size).toBeGreaterThan(2_000);
    const text = (await run('pdftotext', ['-layout', join(dir, 'report.pdf'), '-'])).stdout;
    expect(text).toContain('Incident report');
    expect(text).toMatch(/Alerts \([1-9]\d*\)/);
    expect(text).toContain('person');
    expect(text.replace(/\s+/g, '')).toContain(done.mp4Sha256!);

    // Who, when, why is kept; retention spares the range.
    const listed = (await (await fetch(`${t.url}/api/exports`)).json()) as EvidenceExport[];
    expect(listed.map((e) => e.id)).toContain(done.id);
    const holds = await t.runtime.ports.store.recordings.holds('street');
    expect(holds.find((h) => h.id === done.id)).toMatchObject({ from, to });
    expect(await readFile(join(t.dataDir, 'media', 'exports', done.id, 'report.html'), 'utf8')).toBe(html);
  });

  it('refuses a bad request with the reason', async () => {
    const now = Date.now();
    expect((await post({ camera: 'street', from: now - 5_000, to: now })).status).toBe(400);
    const long = await post({ camera: 'street', from: now - 7_200_000, to: now, reason: 'too long a range' });
    expect(long.status).toBe(400);
    expect(long.body.details?.[0]).toMatch(/at most 60 minutes/);
    expect((await post({ camera: 'nope', from: now - 5_000, to: now, reason: 'no such camera' })).status).toBe(404);
    const none = await post({ camera: 'street', from: '2020-01-01T00:00:00Z', to: '2020-01-01T00:01:00Z', reason: 'before anything was recorded' });
    expect(none.status).toBe(422);
    expect(none.body.error).toMatch(/no recording/);
    expect((await fetch(`${t.url}/api/exports/ex-000000000000/clip.mp4`)).status).toBe(404);
  });
});
