import { cameraSchema, type CameraConfig, type CameraRecord } from '@chronotrace/contracts';
import type { CameraRepository } from './store';
import { toNumber, type SqlSession } from './sql';

interface CameraRow {
  id: string;
  config: CameraConfig;
  origin: CameraRecord['origin'];
  created_at: number | string;
}

function toRecord(row: CameraRow): CameraRecord {
  // Through the schema: a row written before a config field existed gets that field's default.
  const config = cameraSchema.safeParse(row.config);
  return { ...(config.success ? config.data : row.config), id: row.id, origin: row.origin, createdAt: toNumber(row.created_at) };
}

/** The whole CameraConfig is one jsonb column, so a new config field needs no migration. */
function toParams(camera: CameraRecord): [string, string, string, number] {
  const { origin, createdAt, ...config } = camera;
  return [camera.id, JSON.stringify(config), origin, createdAt];
}

export class SqlCameraRepository implements CameraRepository {
  constructor(private readonly db: SqlSession) {}

  /** Oldest first, then by id. */
  async list(): Promise<CameraRecord[]> {
    const rows = await this.db.query<CameraRow>(`SELECT id, config, origin, created_at FROM cameras ORDER BY created_at, id`);
    return rows.map(toRecord);
  }

  async get(id: string): Promise<CameraRecord | null> {
    const rows = await this.db.query<CameraRow>(`SELECT id, config, origin, created_at FROM cameras WHERE id = $1`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async insert(camera: CameraRecord): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(
      `INSERT INTO cameras (id, config, origin, created_at) VALUES ($1, $2::text::jsonb, $3, $4)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      toParams(camera),
    );
    return rows.length === 1;
  }

  async upsert(camera: CameraRecord): Promise<void> {
    await this.db.query(
      `INSERT INTO cameras (id, config, origin, created_at) VALUES ($1, $2::text::jsonb, $3, $4)
       ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, origin = EXCLUDED.origin, created_at = EXCLUDED.created_at`,
      toParams(camera),
    );
  }

  async delete(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(`DELETE FROM cameras WHERE id = $1 RETURNING id`, [id]);
    return rows.length === 1;
  }
}
