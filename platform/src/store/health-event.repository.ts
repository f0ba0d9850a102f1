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

  /** Newest first (by `at`, then by insertion). Default limit 100, at most 10,000. */
  async list(camera: string, limit?: number): Promise<CameraHealth[]> {
    const rows = await this.db.query<{ payload: CameraHealth }>(
      `SELECT payload FROM camera_health_events WHERE camera = $1 ORDER BY at DESC, id DESC LIMIT $2`,
      [camera, listLimit(limit)],
    );
    return rows.map((r) => r.payload);
  }
}
