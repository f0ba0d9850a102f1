import type { ReidLink, TopologyEdge, TrackEvent } from '@chronotrace/contracts';
import { fromDescriptor } from './appearance';
import { ReidLinker, type ReidLinkerOptions, type ReidTrack } from './linker';

export interface ReidCoreStats {
  events: number;
  /** Events refused (a malformed descriptor, a track with no times). */
  invalid: number;
  links: number;
  topology: TopologyEdge[];
}

/** A track event the re-ID core cannot use, with what is wrong. */
export class ReidEventError extends Error {
  override readonly name = 'ReidEventError';
}

/**
 * The re-ID stage's pure core: track events in capture order, links out. A track is offered as a
 * successor when it appears (a live handoff) and again when it ends, now better described (a late
 * link, when the first look was not enough or its predecessor's end arrived after it appeared); an
 * ended track waits for a successor on another camera for the longest transit.
 */
export class ReidCore {
  readonly #linker: ReidLinker;
  #events = 0;
  #invalid = 0;
  #links = 0;

  constructor(options: ReidLinkerOptions = {}) {
    this.#linker = new ReidLinker(options);
  }

  /** Links made before a restart: identities continue, and the camera topology is not learned again. */
  seed(links: readonly ReidLink[]): void {
    for (const l of links) this.#linker.learn(l);
  }

  /** One event; the link it made, if any. Throws ReidEventError for an event that cannot be used (nothing changes). */
  handle(e: TrackEvent, now = Date.now()): ReidLink | null {
    this.#events++;
    let t: ReidTrack;
    let arrived: ReidTrack;
    try {
      t = trackOf(e);
      // As a successor it is compared by how it arrived; as a predecessor by how it left.
      arrived = e.event === 'ended' && e.entry ? { ...t, appearance: fromDescriptor(e.entry) } : t;
    } catch (err) {
      this.#invalid++;
      throw new ReidEventError(`track event ${String(e?.trackId).slice(0, 80)}: ${(err as Error).message}`);
    }
    const link = this.#linker.isLinked(t.trackId) ? null : this.#linker.started(arrived, now);
    if (e.event === 'ended') this.#linker.ended(t);
    if (link) this.#links++;
    return link;
  }

  topology(): TopologyEdge[] {
    return this.#linker.topology();
  }

  toJSON(): ReidCoreStats {
    return { events: this.#events, invalid: this.#invalid, links: this.#links, topology: this.topology() };
  }
}

function trackOf(e: TrackEvent): ReidTrack {
  if (e === null || typeof e !== 'object') throw new TypeError('not an object');
  if (typeof e.trackId !== 'string' || e.trackId.length === 0) throw new TypeError('trackId must be a non-empty string');
  if (typeof e.camera !== 'string' || e.camera.length === 0) throw new TypeError('camera must be a non-empty string');
  if (e.event !== 'appeared' && e.event !== 'ended') throw new TypeError(`event must be 'appeared' or 'ended', got ${JSON.stringify(e.event)}`);
  if (!Number.isFinite(e.firstSeen) || !Number.isFinite(e.lastSeen) || e.lastSeen < e.firstSeen) throw new TypeError('firstSeen and lastSeen must be times, lastSeen not before firstSeen');
  if (e.appearance === null || typeof e.appearance !== 'object') throw new TypeError('appearance is missing');
  return { trackId: e.trackId, camera: e.camera, start: e.firstSeen, end: e.lastSeen, appearance: fromDescriptor(e.appearance) };
}
