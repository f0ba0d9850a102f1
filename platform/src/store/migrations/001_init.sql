-- ChronoTrace store, first schema. Timestamps are bigint ms since the epoch (they round-trip as exact numbers).
-- Later migrations add detections, tracks, queries, alerts and audit.

CREATE TABLE cameras (
  id          text PRIMARY KEY,
  -- The whole CameraConfig (without origin/createdAt), so new config fields need no migration.
  config      jsonb  NOT NULL,
  origin      text   NOT NULL CHECK (origin IN ('config', 'api')),
  created_at  bigint NOT NULL
);

CREATE TABLE camera_health_events (
  -- Breaks ties between events of the same camera with the same `at` (newest insert first).
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  camera   text   NOT NULL,
  state    text   NOT NULL,
  payload  jsonb  NOT NULL,
  at       bigint NOT NULL
);
CREATE INDEX camera_health_events_camera_at ON camera_health_events (camera, at DESC, id DESC);

CREATE TABLE redaction_records (
  frame_id     text PRIMARY KEY,
  camera       text   NOT NULL,
  captured_at  bigint NOT NULL,
  redacted_at  bigint NOT NULL,
  faces        jsonb  NOT NULL,
  plates       jsonb  NOT NULL,
  method       text   NOT NULL CHECK (method IN ('pixelate', 'blur')),
  models       jsonb  NOT NULL,
  ms           double precision NOT NULL
);
CREATE INDEX redaction_records_camera_captured_at ON redaction_records (camera, captured_at DESC);

CREATE TABLE snapshots (
  camera       text PRIMARY KEY,
  captured_at  bigint NOT NULL,
  meta         jsonb  NOT NULL,
  jpeg         bytea  NOT NULL
);
