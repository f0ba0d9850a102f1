import type { RecordingSegment } from '@chronotrace/contracts';

/** Segment file names of an ffmpeg-written HLS media playlist, in order (every one it lists is complete). */
export function playlistSegments(m3u8: string): string[] {
  return m3u8
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0 && !l.startsWith('#'));
}

export interface VodPlaylistOptions {
  /** URL of a segment's file. */
  segmentUrl: (s: RecordingSegment) => string;
  /** URL of a run's init segment. */
  initUrl: (s: RecordingSegment) => string;
}

/**
 * A VOD (ENDLIST) media playlist of stored segments, in time order: a new EXT-X-MAP where the run
 * (init segment) changes, EXT-X-DISCONTINUITY at every run change or gap, and the program date of
 * each segment so a player maps media time to wall time.
 */
export function vodPlaylist(segments: readonly RecordingSegment[], o: VodPlaylistOptions): string {
  const target = Math.max(1, ...segments.map((s) => Math.ceil((s.endAt - s.startAt) / 1000)));
  const lines = ['#EXTM3U', '#EXT-X-VERSION:7', `#EXT-X-TARGETDURATION:${target}`, '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-PLAYLIST-TYPE:VOD', '#EXT-X-INDEPENDENT-SEGMENTS'];
  let prev: RecordingSegment | undefined;
  for (const s of segments) {
    const newRun = !prev || prev.run !== s.run;
    const gap = prev !== undefined && s.startAt - prev.endAt > 1_000;
    if (prev && (newRun || gap)) lines.push('#EXT-X-DISCONTINUITY');
    if (newRun) lines.push(`#EXT-X-MAP:URI="${o.initUrl(s)}"`);
    lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(s.startAt).toISOString()}`);
    lines.push(`#EXTINF:${((s.endAt - s.startAt) / 1000).toFixed(3)},`);
    lines.push(o.segmentUrl(s));
    prev = s;
  }
  lines.push('#EXT-X-ENDLIST', '');
  return lines.join('\n');
}
