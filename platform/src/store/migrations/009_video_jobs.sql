-- Uploaded-video jobs, kept across restarts and shared by web replicas. A job 'processing' is owned by
-- the process running it, which beats heartbeat_at; one whose heartbeat stopped (the process died) is
-- failed and cleaned up by the next process to start. cancel_requested asks the owner to cancel.
CREATE TABLE video_jobs (
  id                text    PRIMARY KEY,
  camera            text    NOT NULL,
  state             text    NOT NULL CHECK (state IN ('processing', 'done', 'failed', 'cancelled')),
  job               jsonb   NOT NULL,
  owner             text    NOT NULL,
  heartbeat_at      bigint  NOT NULL,
  cancel_requested  boolean NOT NULL DEFAULT false,
  created_at        bigint  NOT NULL
);
CREATE INDEX video_jobs_created_at ON video_jobs (created_at DESC);
CREATE INDEX video_jobs_processing ON video_jobs (heartbeat_at) WHERE state = 'processing';
