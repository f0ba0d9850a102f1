import type { ReidLink } from '@chronotrace/contracts';
import type { ReidRepository } from './store';
import { listLimit, toNumber, type SqlSession, type SqlValue } from './sql';

interface LinkRow {
  to_track: string;
  from_track: string;
  identity: string;
  from_camera: string;
  to_camera: string;
  transit_s: number | string;
  appearance: number | string;
  transit: number | string;
  confidence: number | string;
  linked_at: number | string;
}

function toLink(r: LinkRow): ReidLink {
  return {
    identity: r.identity,
    from: r.from_track,
    to: r.to_track,
    fromCamera: r.from_camera,
    toCamera: r.to_camera,
    transitSeconds: toNumber(r.transit_s),
    appearance: toNumber(r.appearance),
    transit: toNumber(r.transit),
    confidence: toNumber(r.confidence),
    linkedAt: toNumber(r.linked_at),
  };
}

const COLUMNS = 'to_track, from_track, identity, from_camera, to_camera, transit_s, appearance, transit, confidence, linked_at';

export class SqlReidRepository implements ReidRepository {
  constructor(private readonly db: SqlSession) {}

  async append(links: readonly ReidLink[]): Promise<void> {
    if (links.length === 0) return;
    const values: SqlValue[] = [];
    const rows = links.map((l, i) => {
      values.push(l.to, l.from, l.identity, l.fromCamera, l.toCamera, l.transitSeconds, l.appearance, l.transit, l.confidence, l.linkedAt);
      const b = i * 10;
      return `(${Array.from({ length: 10 }, (_, k) => `$${b + k + 1}`).join(', ')})`;
    });
    await this.db.query(`INSERT INTO reid_links (${COLUMNS}) VALUES ${rows.join(', ')} ON CONFLICT (to_track) DO NOTHING`, values);
  }

  async identityOf(trackId: string): Promise<string | null> {
    const rows = await this.db.query<{ identity: string }>(`SELECT identity FROM reid_links WHERE to_track = $1 OR from_track = $1 LIMIT 1`, [trackId]);
    return rows[0]?.identity ?? null;
  }

  async links(identity: string, limit?: number): Promise<ReidLink[]> {
    const rows = await this.db.query<LinkRow>(`SELECT ${COLUMNS} FROM reid_links WHERE identity = $1 ORDER BY linked_at, to_track LIMIT $2`, [identity, listLimit(limit)]);
    return rows.map(toLink);
  }

  async recent(since: number, limit?: number): Promise<ReidLink[]> {
    const rows = await this.db.query<LinkRow>(
      `SELECT ${COLUMNS} FROM (SELECT ${COLUMNS} FROM reid_links WHERE linked_at >= $1 ORDER BY linked_at DESC, to_track DESC LIMIT $2) newest ORDER BY linked_at, to_track`,
      [since, listLimit(limit)],
    );
    return rows.map(toLink);
  }

  async prune(before: number): Promise<number> {
    const rows = await this.db.query<{ to_track: string }>(`DELETE FROM reid_links WHERE linked_at < $1 RETURNING to_track`, [before]);
    return rows.length;
  }

  async deleteCamera(camera: string): Promise<number> {
    const rows = await this.db.query<{ to_track: string }>(`DELETE FROM reid_links WHERE from_camera = $1 OR to_camera = $1 RETURNING to_track`, [camera]);
    return rows.length;
  }
}
