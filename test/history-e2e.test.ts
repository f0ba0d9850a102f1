import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryError, SearchResponse, TimelineResponse } from '@chronotrace/contracts';
import { startTestRuntime, waitFor, type TestRuntime } from './support/runtime';

const run = promisify(execFile);
const VTEST = '/usr/share/doc/opencv-doc/examples/data/vtest.avi';

/*
 * Recorded history end to end, embedded: vtest.avi (Debian opencv-doc: pedestrians walking, no bicycle)
 * is redacted, tracked, summarised per track and recorded; search, thumbnails, the VOD playlist, its
 * segments and the timeline are read back through the API.
 */
describe('recorded history (embedded)', () => {
  let t: TestRuntime;
  const get = async (path: string): Promise<Response> => fetch(`${t.url}${path}`);
  const search = async (q: string, extra = ''): Promise<{ status: number; body: SearchResponse & QueryError & { details?: string[] } }> => {
    const r = await get(`/api/search?q=${encodeURIComponent(q)}${extra}`);
    return { status: r.status, body: (await r.json()) as SearchResponse & QueryError & { details?: string[] } };
  };

  beforeAll(async () => {
    t = await startTestRuntime([{ id: 'street', name: 'Street', source: VTEST, fps: 5, analysisFps: 2, width: 480 }], { RECORDING: 'on', RECORDING_MIN_FREE_MB: '0' });
  }, 90_000);
  afterAll(async () => t?.close());

  it('finds the pedestrians for "person", one result per track, ranked, with thumbnails', async () => {
    const r = await waitFor(
      'three person tracks with thumbnails',
      async () => {
        const s = await search('person');
        return s.status === 200 && s.body.hits.filter((h) => h.thumbnail).length >= 3 ? s : undefined;
      },
      90_000,
      1_000,
    );
    const hits = r.body.hits;
    expect(new Set(hits.map((h) => h.trackId)).size).toBe(hits.length);
    for (const h of hits) {
      expect(h.label).toBe('person');
      expect(h.camera).toBe('street');
      expect(h.cameraName).toBe('Street');
      expect(h.end).toBeGreaterThanOrEqual(h.start);
      expect(h.playAt).toBeLessThanOrEqual(h.bestAt);
      expect(h.score).toBeGreaterThan(0);
      expect(h.score).toBeLessThanOrEqual(1);
    }
    for (let i = 1; i < hits.length; i++) expect(hits[i]!.score).toBeLessThanOrEqual(hits[i - 1]!.score);
    const withThumb = hits.find((h) => h.thumbnail)!;
    for (const url of [withThumb.thumbnail!.crop, withThumb.thumbnail!.frame]) {
      const img = await get(url);
      expect(img.status).toBe(200);
      expect(img.headers.get('content-type')).toBe('image/jpeg');
      const bytes = new Uint8Array(await img.arrayBuffer());
      expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    }
    expect(r.body.explanation).toMatch(/person/);
  });

  it('finds nothing for "bicycle" (there is none in the footage)', async () => {
    const r = await search('bicycle');
    expect(r.status).toBe(200);
    expect(r.body.hits).toEqual([]);
    expect(r.body.nextCursor).toBeNull();
  });

  it('pages with a keyset cursor: pages are disjoint and keep the order', async () => {
    const all = await search('person', '&limit=200');
    expect(all.body.hits.length).toBeGreaterThanOrEqual(3);
    const first = await search('person', '&limit=2');
    expect(first.body.hits).toHaveLength(2);
    expect(first.body.nextCursor).not.toBeNull();
    const second = await search('person', `&limit=2&cursor=${first.body.nextCursor}`);
    const ids = [...first.body.hits, ...second.body.hits].map((h) => h.trackId);
    expect(new Set(ids).size).toBe(ids.length);
    // The two pages are the start of the whole ranking (tracks written meanwhile may only add later entries).
    const whole = all.body.hits.map((h) => h.trackId);
    expect(whole.indexOf(second.body.hits[0]!.trackId)).toBeGreaterThan(whole.indexOf(first.body.hits[1]!.trackId));
    const foreign = await search('car', `&cursor=${first.body.nextCursor}`);
    expect(foreign.status).toBe(400);
    expect(foreign.body.details?.[0]).toMatch(/^cursor:/);
  });

  it('refuses what the compiler refuses, with the same body as standing queries, and counts', async () => {
    const r = await search('persn with a backpak');
    expect(r.status).toBe(400);
    expect(r.body.code).toBe('unknown-terms');
    expect(r.body.unknownTerms).toEqual(expect.arrayContaining(['persn']));
    expect(r.body.suggestions.persn).toContain('person');
    const count = await search('more than 3 people');
    expect(count.status).toBe(400);
    expect(count.body.code).toBe('unsupported');
    const bad = await search('person', '&camera=nope&limit=0');
    expect(bad.status).toBe(400);
    expect(bad.body.details).toEqual(expect.arrayContaining([expect.stringMatching(/^limit:/)]));
  });

  it('narrows by time: the last hour has them, yesterday does not', async () => {
    expect((await search('person in the last hour')).body.hits.length).toBeGreaterThan(0);
    const y = await search('person yesterday');
    expect(y.status).toBe(200);
    expect(y.body.hits).toEqual([]);
    expect(y.body.time.explanation).toMatch(/yesterday/);
  });

  it('plays a hit from the recording: a VOD playlist of the segment index whose segments decode', async () => {
    const hit = await waitFor(
      'a recorded hit',
      async () => (await search('person', '&limit=50')).body.hits.find((h) => h.recorded),
      60_000,
      1_000,
    );
    const from = hit.playAt - 5_000;
    const to = hit.end + 5_000;
    const pl = await get(`/api/cameras/street/recording.m3u8?from=${from}&to=${to}`);
    expect(pl.status).toBe(200);
    expect(pl.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    const text = await pl.text();
    expect(text).toMatch(/#EXT-X-MAP:URI="\/api\/cameras\/street\/recording\/[0-9a-z]+\/init\.mp4"/);
    expect(text).toMatch(/#EXT-X-ENDLIST/);
    const uris = text.split('\n').filter((l) => l.startsWith('/api/'));
    expect(uris.length).toBeGreaterThan(0);
    const init = await get(text.match(/URI="([^"]+)"/)![1]!);
    expect(init.status).toBe(200);
    const seg = await get(uris[0]!);
    expect(seg.status).toBe(200);
    const file = join(t.dataDir, 'probe.mp4');
    await writeFile(file, Buffer.concat([Buffer.from(await init.arrayBuffer()), Buffer.from(await seg.arrayBuffer())]));
    const { stdout } = await run('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_name,nb_read_frames,width', '-of', 'csv=p=0', file]);
    const [codec, width, n] = stdout.trim().split(',');
    expect(codec).toBe('h264');
    expect(Number(width)).toBe(480);
    expect(Number(n)).toBeGreaterThan(0);
    // A file the index does not list is never served.
    const run0 = uris[0]!.split('/')[5]!;
    expect((await get(`/api/cameras/street/recording/${run0}/seg-999999.m4s`)).status).toBe(404);
    expect((await get(`/api/cameras/street/recording/${run0}/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
  });

  it('gives the camera timeline: recorded spans, tracks and an activity band', async () => {
    const now = Date.now();
    const r = await get(`/api/cameras/street/timeline?from=${now - 600_000}&to=${now}`);
    expect(r.status).toBe(200);
    const tl = (await r.json()) as TimelineResponse;
    expect(tl.segments.length).toBeGreaterThan(0);
    expect(tl.tracks.length).toBeGreaterThan(0);
    expect(tl.density.counts.some((c) => c > 0)).toBe(true);
    const rec = await get('/api/cameras/street/recording');
    const body = (await rec.json()) as { health: { state: string; segments: number } };
    expect(body.health.state).toBe('recording');
    expect(body.health.segments).toBeGreaterThan(0);
    expect((await get('/api/cameras/nope/timeline')).status).toBe(404);
    expect((await get('/api/cameras/street/timeline?from=yesterday')).status).toBe(400);
  });
});
