import { createHash } from 'node:crypto';
import type { LeaseRepository, Logger } from '@chronotrace/platform';

/** Lease names: one per live privacy process, one per owned camera. */
export const MEMBER_LEASE_PREFIX = 'privacy-member:';
export const CAMERA_LEASE_PREFIX = 'privacy-camera:';

/**
 * The member a camera belongs to among `members` (rendezvous hashing): every process computes the same
 * answer from the same member list, and a member joining or leaving moves only the cameras it gains or loses.
 */
export function rendezvousOwner(camera: string, members: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = '';
  for (const m of members) {
    const score = createHash('sha1').update(`${m}\u0000${camera}`).digest('hex');
    if (best === undefined || score > bestScore) {
      best = m;
      bestScore = score;
    }
  }
  return best;
}

export interface CameraOwnershipOptions {
  leases: LeaseRepository;
  /** This process's id (its leases' owner). */
  instance: string;
  /** The cameras that exist now. */
  cameras: () => string[];
  /** Told the cameras to consume whenever that set changes; resolves once it is applied. */
  onChange: (owned: ReadonlySet<string>) => Promise<void>;
  log: Logger;
  /** Lease lifetime: a dead process's cameras are taken over this long after its last renewal. Default 6 000 ms. */
  ttlMs?: number;
  /** How often leases are renewed and ownership recomputed. Default ttl / 4. */
  tickMs?: number;
}

/**
 * Which cameras this privacy process owns, so one process at a time holds a camera's perception state
 * (carried regions, motion memory). Every process keeps a member lease alive; each camera goes to its
 * rendezvous owner among the live members, who must also hold the camera's lease (so two processes never
 * consume one camera while a lease is held). A camera changes hands by the old owner letting go first:
 * it stops consuming (frames it started finish, the rest go back to the camera's durable), then releases
 * the lease; the new owner takes it on its next tick. A process that dies stops renewing: after ttlMs
 * its member lease and camera leases lapse and the others take its cameras. A process that cannot renew
 * gives its cameras up before its leases could lapse. Raw frames never leave the bus meanwhile: a
 * camera nobody owns is simply not redacted (its frames are not shown), never shown raw.
 */
export class CameraOwnership {
  private owned = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private closed = false;
  private lastRenewed = 0;
  private readonly ttlMs: number;
  private readonly tickMs: number;

  constructor(private readonly o: CameraOwnershipOptions) {
    this.ttlMs = o.ttlMs ?? 6_000;
    this.tickMs = o.tickMs ?? Math.max(100, Math.round(this.ttlMs / 4));
  }

  /** Runs a first round (so owned cameras are consumed when it resolves), then one every tickMs. */
  async start(): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.tickMs);
    this.timer.unref();
  }

  /** The cameras owned now. */
  cameras(): string[] {
    return [...this.owned].sort();
  }

  /** One round: renew, recompute, hand cameras over. Overlapping calls share the running round. */
  tick(): Promise<void> {
    this.ticking ??= this.round().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async round(): Promise<void> {
    if (this.closed) return;
    const { leases, instance } = this.o;
    try {
      if (!(await leases.acquire(`${MEMBER_LEASE_PREFIX}${instance}`, instance, this.ttlMs))) throw new Error('member lease held by another owner');
      const members = new Set((await leases.live(MEMBER_LEASE_PREFIX)).map((l) => l.owner));
      members.add(instance);
      const sorted = [...members].sort();
      const next = new Set<string>();
      for (const camera of this.o.cameras()) {
        if (rendezvousOwner(camera, sorted) !== instance) continue;
        // Free, lapsed or already ours: ours now. Else the previous owner has not let go yet.
        if (await leases.acquire(`${CAMERA_LEASE_PREFIX}${camera}`, instance, this.ttlMs)) next.add(camera);
      }
      this.lastRenewed = Date.now();
      await this.apply(next);
    } catch (err) {
      this.o.log.warn({ err }, 'cannot renew camera leases');
      // Our leases may lapse soon and another process take our cameras: give them up before that.
      if (this.owned.size > 0 && Date.now() - this.lastRenewed > this.ttlMs * 0.6) {
        this.o.log.error({ cameras: [...this.owned] }, 'leases could not be renewed: giving the cameras up');
        await this.apply(new Set()).catch(() => undefined);
      }
    }
  }

  private async apply(next: Set<string>): Promise<void> {
    const lost = [...this.owned].filter((c) => !next.has(c));
    const gained = [...next].filter((c) => !this.owned.has(c));
    if (lost.length === 0 && gained.length === 0) return;
    await this.o.onChange(next);
    this.owned = next;
    this.o.log.info({ owned: [...next].sort(), gained, lost }, 'camera ownership changed');
    // Let go only once they are no longer consumed here.
    for (const camera of lost) await this.o.leases.release(`${CAMERA_LEASE_PREFIX}${camera}`, this.o.instance).catch(() => false);
  }

  /** Stops consuming every camera and releases the leases at once (a drained process hands over without waiting for expiry). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking?.catch(() => undefined);
    const owned = [...this.owned];
    await this.o.onChange(new Set()).catch(() => undefined);
    this.owned = new Set();
    for (const camera of owned) await this.o.leases.release(`${CAMERA_LEASE_PREFIX}${camera}`, this.o.instance).catch(() => false);
    await this.o.leases.release(`${MEMBER_LEASE_PREFIX}${this.o.instance}`, this.o.instance).catch(() => false);
  }
}
