import type { VideoJob } from '@chronotrace/contracts';
import type { VideoJobRepository } from './store';
import { listLimit, type SqlSession } from './sql';

interface JobRow {
  job: VideoJob | string;
}

function toJob(r: JobRow): VideoJob {
  return typeof r.job === 'string' ? (JSON.parse(r.job) as VideoJob) : r.job;
}

export class SqlVideoJobRepository implements VideoJobRepository {
  constructor(private readonly db: SqlSession) {}

  async save(job: VideoJob, owner: string, at: number): Promise<{ cancelRequested: boolean }> {
    const rows = await this.db.query<{ cancel_requested: boolean }>(
      `INSERT INTO video_jobs (id, camera, state, job, owner, heartbeat_at, created_at) VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7)
       ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, job = EXCLUDED.job, owner = EXCLUDED.owner, heartbeat_at = EXCLUDED.heartbeat_at
       RETURNING cancel_requested`,
      [job.id, job.camera, job.state, JSON.stringify(job), owner, at, job.createdAt],
    );
    return { cancelRequested: rows[0]?.cancel_requested === true };
  }

  async get(id: string): Promise<VideoJob | null> {
    const rows = await this.db.query<JobRow>(`SELECT job FROM video_jobs WHERE id = $1`, [id]);
    return rows[0] ? toJob(rows[0]) : null;
  }

  async list(limit?: number): Promise<VideoJob[]> {
    const rows = await this.db.query<JobRow>(`SELECT job FROM video_jobs ORDER BY created_at DESC, id DESC LIMIT $1`, [listLimit(limit)]);
    return rows.map(toJob);
  }

  async requestCancel(id: string): Promise<boolean> {
    const rows = await this.db.query<{ id: string }>(`UPDATE video_jobs SET cancel_requested = true WHERE id = $1 AND state = 'processing' RETURNING id`, [id]);
    return rows.length > 0;
  }

  async failStale(before: number, error: string, at: number): Promise<VideoJob[]> {
    const rows = await this.db.query<JobRow>(
      `UPDATE video_jobs SET state = 'failed', heartbeat_at = $3,
         job = jsonb_set(jsonb_set(jsonb_set(job, '{state}', '"failed"'), '{error}', to_jsonb($2::text)), '{finishedAt}', to_jsonb($3::bigint))
       WHERE state = 'processing' AND heartbeat_at < $1 RETURNING job`,
      [before, error, at],
    );
    return rows.map(toJob);
  }
}
