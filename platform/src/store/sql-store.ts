import type { Logger } from '../logger';
import { SqlCameraRepository } from './camera.repository';
import { SqlHealthEventRepository } from './health-event.repository';
import { listAppliedMigrations, loadMigrations, runMigrations, type AppliedMigration } from './migrator';
import { SqlRedactionRepository } from './redaction.repository';
import { SqlSnapshotRepository } from './snapshot.repository';
import type { SqlDatabase } from './sql';
import { SqlAlertRepository } from './alert.repository';
import { SqlQueryRepository } from './query.repository';
import { SqlSceneRepository } from './scene.repository';
import { SqlWebhookRepository } from './webhook.repository';
import { SqlPublishTokenRepository } from './publish-token.repository';
import { SqlLeaseRepository } from './lease.repository';
import { SqlRecordingRepository } from './recording.repository';
import { SqlExportRepository } from './export.repository';
import { SqlVideoJobRepository } from './video-job.repository';
import { SqlTrackSummaryRepository } from './track-summary.repository';
import { SqlReidRepository } from './reid.repository';
import type { ReidRepository, VideoJobRepository, ExportRepository, RecordingRepository, TrackSummaryRepository, AlertRepository, CameraRepository, HealthEventRepository, LeaseRepository, PublishTokenRepository, QueryRepository, RedactionRepository, SceneRepository, SnapshotRepository, Store, WebhookRepository } from './store';

/**
 * The Store written once against SqlDatabase; PgliteStore and PostgresStore only supply the
 * connection and how to close it.
 */
export abstract class SqlStore implements Store {
  abstract readonly kind: Store['kind'];
  readonly cameras: CameraRepository;
  readonly publishTokens: PublishTokenRepository;
  readonly leases: LeaseRepository;
  readonly healthEvents: HealthEventRepository;
  readonly redactions: RedactionRepository;
  readonly snapshots: SnapshotRepository;
  readonly queries: QueryRepository;
  readonly alerts: AlertRepository;
  readonly scene: SceneRepository;
  readonly webhooks: WebhookRepository;
  readonly recordings: RecordingRepository;
  readonly exports: ExportRepository;
  readonly videoJobs: VideoJobRepository;
  readonly trackSummaries: TrackSummaryRepository;
  readonly reid: ReidRepository;
  #closing: Promise<void> | undefined;

  protected constructor(
    /** The executor, for sibling repositories (later tables) and tests. */
    readonly db: SqlDatabase,
    protected readonly log: Logger,
  ) {
    this.cameras = new SqlCameraRepository(db);
    this.publishTokens = new SqlPublishTokenRepository(db);
    this.leases = new SqlLeaseRepository(db);
    this.healthEvents = new SqlHealthEventRepository(db);
    this.redactions = new SqlRedactionRepository(db);
    this.snapshots = new SqlSnapshotRepository(db);
    this.queries = new SqlQueryRepository(db);
    this.alerts = new SqlAlertRepository(db);
    this.scene = new SqlSceneRepository(db);
    this.webhooks = new SqlWebhookRepository(db);
    this.recordings = new SqlRecordingRepository(db);
    this.exports = new SqlExportRepository(db);
    this.videoJobs = new SqlVideoJobRepository(db);
    this.trackSummaries = new SqlTrackSummaryRepository(db);
    this.reid = new SqlReidRepository(db);
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  async migrate(): Promise<void> {
    const applied = await runMigrations(this.db, await loadMigrations(), this.log);
    this.log.debug({ applied }, applied.length ? 'migrated' : 'schema up to date');
  }

  /** Versions recorded in schema_migrations, oldest first. */
  appliedMigrations(): Promise<AppliedMigration[]> {
    return listAppliedMigrations(this.db);
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.db.query('SELECT 1');
      return true;
    } catch (err) {
      this.log.warn({ err }, 'store ping failed');
      return false;
    }
  }

  /** Idempotent: later calls return the first call's promise. */
  close(): Promise<void> {
    this.#closing ??= this.closeConnection().then(() => this.log.debug('store closed'));
    return this.#closing;
  }

  protected abstract closeConnection(): Promise<void>;
}
