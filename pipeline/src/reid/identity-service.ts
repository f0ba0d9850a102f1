import type { Identity, IdentityTrack, ReidLink, TopologyEdge, TrackSummary } from '@chronotrace/contracts';
import type { ReidRepository, TrackSummaryRepository } from '@chronotrace/platform';

export interface IdentityServiceOptions {
  store: { reid: ReidRepository; trackSummaries: TrackSummaryRepository };
}

/** An identity has at most this many links read (a chain this long is a camera pair gone wrong, not a walk). */
const MAX_LINKS = 500;

/**
 * People followed across cameras, read from the stored links and track summaries: an identity is the
 * chain of links from its first track; any track of it (or one never linked) names it.
 */
export class IdentityService {
  constructor(private readonly o: IdentityServiceOptions) {}

  /** The identity a track belongs to (by the track's id or the identity's), or null when no such track is known. */
  async get(id: string): Promise<Identity | null> {
    const identity = (await this.o.store.reid.identityOf(id)) ?? id;
    const links = await this.o.store.reid.links(identity, MAX_LINKS);
    const ids = [identity, ...links.map((l) => l.to)];
    const [found, thumbs] = await Promise.all([Promise.all(ids.map((t) => this.o.store.trackSummaries.get(t))), this.o.store.trackSummaries.withThumbnails(ids)]);
    const summaries = new Map<string, TrackSummary>();
    found.forEach((s, i) => s && summaries.set(ids[i]!, s));
    if (links.length === 0 && summaries.size === 0) return null;
    const cameraOf = new Map<string, string>([[identity, links[0]?.fromCamera ?? summaries.get(identity)?.camera ?? '']]);
    for (const l of links) cameraOf.set(l.to, l.toCamera);
    const tracks: IdentityTrack[] = ids.map((t) => trackOf(t, cameraOf.get(t) ?? '', summaries.get(t), links, thumbs.has(t)));
    tracks.sort((a, b) => a.firstSeen - b.firstSeen || a.trackId.localeCompare(b.trackId));
    return {
      id: identity,
      tracks,
      links,
      path: tracks.map((t) => t.camera),
      firstSeen: Math.min(...tracks.map((t) => t.firstSeen)),
      lastSeen: Math.max(...tracks.map((t) => t.lastSeen)),
    };
  }

  /** Camera pairs that exchanged people since `since` (from the stored links): how often, and the median transit. */
  async topology(since: number): Promise<TopologyEdge[]> {
    const pairs = new Map<string, number[]>();
    for (const l of await this.o.store.reid.recent(since, 10_000)) {
      const k = `${l.fromCamera}>${l.toCamera}`;
      let p = pairs.get(k);
      if (!p) pairs.set(k, (p = []));
      p.push(l.transitSeconds);
    }
    return [...pairs]
      .map(([k, ts]) => {
        const [from, to] = k.split('>') as [string, string];
        ts.sort((a, b) => a - b);
        return { from, to, transits: ts.length, typicalSeconds: ts[Math.floor(ts.length / 2)]! };
      })
      .sort((a, b) => b.transits - a.transits || a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  }
}

/**
 * A track of the identity: from its summary when stored (search keeps them for its retention), else
 * from the links' times (a track pruned from search, or one the store missed).
 */
function trackOf(id: string, camera: string, s: TrackSummary | undefined, links: readonly ReidLink[], thumb: boolean): IdentityTrack {
  const enc = encodeURIComponent(id);
  const thumbnail = thumb ? { crop: `/api/tracks/${enc}/thumbnail.jpg?kind=crop`, frame: `/api/tracks/${enc}/thumbnail.jpg?kind=frame` } : null;
  if (s) return { trackId: id, camera: s.camera, label: s.label, firstSeen: s.firstSeen, lastSeen: s.lastSeen, ended: s.ended, thumbnail, bestAt: s.bestAt };
  const at = links.find((l) => l.to === id || l.from === id)?.linkedAt ?? 0;
  return { trackId: id, camera, label: 'person', firstSeen: at, lastSeen: at, ended: true, thumbnail, bestAt: at };
}
