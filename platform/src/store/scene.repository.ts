import type { SceneTrack, Track } from '@chronotrace/contracts';
import type { FrameEmbeddingRecord, SceneFrameRecord, SceneRepository } from './store';
import { listLimit, toBytes, toNumber, type SqlSession, type SqlValue } from './sql';

interface FrameRow {
  frame_id: string;
  camera: string;
  captured_at: number | string;
  width: number | string;
  height: number | string;
  tracks: SceneTrack[];
}

/** Most frames one backtest read returns (callers page by time). */
export const MAX_SCENE_FRAMES = 200_000;

export class SqlSceneRepository implements SceneRepository {
  constructor(private readonly db: SqlSession) {}

  async appendFrames(frames: readonly SceneFrameRecord[]): Promise<void> {
    if (frames.length === 0) return;
    // One statement for the batch (one parameter, so any size fits): the scene stage writes every
    // frame of every camera, and a statement per frame was most of the embedded store's CPU.
    await this.db.query(
      `INSERT INTO scene_frames (frame_id, camera, captured_at, width, height, tracks)
       SELECT "frameId", camera, "capturedAt", width, height, tracks
       FROM jsonb_to_recordset($1::text::jsonb) AS f("frameId" text, camera text, "capturedAt" bigint, width integer, height integer, tracks jsonb)
       ON CONFLICT (frame_id) DO NOTHING`,
      [JSON.stringify(frames)],
    );
  }

  async frames(range: { from: number; to: number; cameras?: string[]; limit?: number }): Promise<SceneFrameRecord[]> {
    const params: SqlValue[] = [range.from, range.to];
    let cameras = '';
    if (range.cameras) {
      if (range.cameras.length === 0) return [];
      params.push(JSON.stringify(range.cameras));
      cameras = `AND camera IN (SELECT jsonb_array_elements_text($3::text::jsonb))`;
    }
    params.push(Math.min(range.limit ?? MAX_SCENE_FRAMES, MAX_SCENE_FRAMES));
    const rows = await this.db.query<FrameRow>(
      `SELECT frame_id, camera, captured_at, width, height, tracks FROM scene_frames
       WHERE captured_at >= $1 AND captured_at < $2 ${cameras} ORDER BY captured_at, frame_id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => ({
      frameId: r.frame_id,
      camera: r.camera,
      capturedAt: toNumber(r.captured_at),
      width: toNumber(r.width),
      height: toNumber(r.height),
      tracks: r.tracks,
    }));
  }

  async appendEmbedding(e: FrameEmbeddingRecord): Promise<void> {
    const bytes = new Uint8Array(e.vector.length * 4);
    const view = new DataView(bytes.buffer);
    e.vector.forEach((v, i) => view.setFloat32(i * 4, v, true));
    await this.db.query(
      `INSERT INTO frame_embeddings (frame_id, camera, captured_at, model, dimensions, vector) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (frame_id) DO NOTHING`,
      [e.frameId, e.camera, e.capturedAt, e.model, e.vector.length, bytes],
    );
  }

  async embeddings(range: { from: number; to: number; model: string; cameras?: string[]; limit?: number }): Promise<FrameEmbeddingRecord[]> {
    const params: SqlValue[] = [range.from, range.to, range.model];
    let cameras = '';
    if (range.cameras) {
      if (range.cameras.length === 0) return [];
      params.push(JSON.stringify(range.cameras));
      cameras = `AND camera IN (SELECT jsonb_array_elements_text($4::text::jsonb))`;
    }
    params.push(Math.min(range.limit ?? MAX_SCENE_FRAMES, MAX_SCENE_FRAMES));
    const rows = await this.db.query<{ frame_id: string; camera: string; captured_at: number | string; model: string; dimensions: number | string; vector: Uint8Array }>(
      `SELECT frame_id, camera, captured_at, model, dimensions, vector FROM frame_embeddings
       WHERE captured_at >= $1 AND captured_at < $2 AND model = $3 ${cameras} ORDER BY captured_at, frame_id LIMIT $${params.length}`,
      params,
    );
    return rows.map((r) => {
      const bytes = toBytes(r.vector);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      const vector = new Float32Array(toNumber(r.dimensions));
      for (let i = 0; i < vector.length; i++) vector[i] = view.getFloat32(i * 4, true);
      return { frameId: r.frame_id, camera: r.camera, capturedAt: toNumber(r.captured_at), model: r.model, vector };
    });
  }

  async upsertTracks(tracks: readonly { track: Track; ended: boolean }[]): Promise<void> {
    // One row per track, its last state in the batch (a track seen starting and ending is stored ended).
    const last = new Map<string, { track: Track; ended: boolean }>();
    for (const t of tracks) last.set(t.track.id, t);
    if (last.size === 0) return;
    await this.db.query(
      `INSERT INTO tracks (id, camera, label, first_seen, last_seen, ended, snapshot)
       SELECT e->'track'->>'id', e->'track'->>'camera', e->'track'->>'label', (e->'track'->>'firstSeen')::bigint, (e->'track'->>'lastSeen')::bigint, (e->>'ended')::boolean, e->'track'
       FROM jsonb_array_elements($1::text::jsonb) AS e
       ON CONFLICT (id) DO UPDATE SET last_seen = EXCLUDED.last_seen, ended = EXCLUDED.ended, snapshot = EXCLUDED.snapshot`,
      [JSON.stringify([...last.values()])],
    );
  }

  async tracks(camera: string, limit?: number): Promise<(Track & { ended: boolean })[]> {
    const rows = await this.db.query<{ snapshot: Track; ended: boolean }>(
      `SELECT snapshot, ended FROM tracks WHERE camera = $1 ORDER BY last_seen DESC, id DESC LIMIT $2`,
      [camera, listLimit(limit)],
    );
    return rows.map((r) => ({ ...r.snapshot, ended: r.ended }));
  }

  async deleteCamera(camera: string): Promise<void> {
    await this.db.query(`DELETE FROM frame_embeddings WHERE camera = $1`, [camera]);
    await this.db.query(`DELETE FROM tracks WHERE camera = $1`, [camera]);
    await this.db.query(`DELETE FROM scene_frames WHERE camera = $1`, [camera]);
  }

  async pruneFrames(before: number): Promise<number> {
    await this.db.query(`DELETE FROM frame_embeddings WHERE captured_at < $1`, [before]);
    await this.db.query(`DELETE FROM tracks WHERE ended AND last_seen < $1`, [before]);
    const rows = await this.db.query<{ frame_id: string }>(`DELETE FROM scene_frames WHERE captured_at < $1 RETURNING frame_id`, [before]);
    return rows.length;
  }
}
