import type { CameraHealth } from '@chronotrace/contracts';
import type { HealthEventRepository } from './store';
import { listLimit, type SqlSession } from './sql';

export class SqlHealthEventRepository implements HealthEventRepository {
  constructor(private readonly db: SqlSession) {}

  async append(health: CameraHealth): Promise<void> {
    await this.db.query(`INSERT INTO camera_health_events (camera, state, payload, at) VALUES ($1, $2, $3::text::jsonb, $4)`, [
      health.camera,
      health.state,
      JSON.stringify(health),
      health.at,
    ]);
  }

  /**
   * Appends only when the camera's newest stored event has another state (or there is none), so
   * every replica may offer every health report and the table keeps state changes. Returns whether
   * it stored one.
   */
  async appendIfStateChanged(health: CameraHealth): Promise<boolean> {
    const rows = await this.db.query<{ camera: string }>(
      `INSERT INTO camera_health_events (camera, state, payload, at)
       SELECT $1, $2, $3::text::jsonb, $4
       WHERE NOT EXISTS (
         SELECT 1 FROM (SELECT state FROM camera_health_events WHERE camera = $1 ORDER BY at DESC, id DESC LIMIT 1) newest
         WHERE newest.state = $2)
       RETURNING camera`,
      [health.camera, health.state, JSON.stringify(health), health.at],
    );
    return rows.length > 0;
  }

  /** Newest first (by `at`, then by insertion). Default limit 100, at most 10,000. */
  async list(camera: string, limit?: number): Promise<CameraHealth[]> {
    const rows = await this.db.query<{ payload: CameraHealth }>(
      `SELECT payload FROM camera_health_events WHERE camera = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [camera, listLimit(limit)],
    );
    return rows.map((r) => r.payload);
  }
}
