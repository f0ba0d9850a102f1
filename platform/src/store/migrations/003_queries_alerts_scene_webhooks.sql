-- Standing queries, the alerts they fire, the stored scene (tracks per frame, for search and backtests), and webhooks.

CREATE TABLE standing_queries (
  id           text PRIMARY KEY,
  text         text    NOT NULL,
  plan         jsonb   NOT NULL,
  explanation  text    NOT NULL,
  -- null: as the text says; else a json array of camera ids the operator limited the query to.
  cameras      jsonb,
  severity     text    NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
  armed        boolean NOT NULL,
  version      integer NOT NULL,
  created_at   bigint  NOT NULL,
  updated_at   bigint  NOT NULL
);

CREATE TABLE alerts (
  id           text PRIMARY KEY,
  query_id     text   NOT NULL,
  camera       text   NOT NULL,
  captured_at  bigint NOT NULL,
  fired_at     bigint NOT NULL,
  -- The whole alert message (evidence, plan, scores, models) so new evidence fields need no migration.
  payload      jsonb  NOT NULL,
  -- The redacted frame that fired, JPEG.
  snapshot     bytea,
  ack_by       text,
  ack_at       bigint
);
CREATE INDEX alerts_captured_at ON alerts (captured_at DESC, id DESC);
CREATE INDEX alerts_camera_captured_at ON alerts (camera, captured_at DESC);
CREATE INDEX alerts_query_captured_at ON alerts (query_id, captured_at DESC);

-- One row per analysed frame: its tracks with attributes. Replayed by backtests.
CREATE TABLE scene_frames (
  frame_id     text PRIMARY KEY,
  camera       text    NOT NULL,
  captured_at  bigint  NOT NULL,
  width        integer NOT NULL,
  height       integer NOT NULL,
  tracks       jsonb   NOT NULL
);
CREATE INDEX scene_frames_camera_captured_at ON scene_frames (camera, captured_at);
CREATE INDEX scene_frames_captured_at ON scene_frames (captured_at);

-- One row per confirmed track, written when it starts and again when it ends.
CREATE TABLE tracks (
  id           text PRIMARY KEY,
  camera       text    NOT NULL,
  label        text    NOT NULL,
  first_seen   bigint  NOT NULL,
  last_seen    bigint  NOT NULL,
  ended        boolean NOT NULL,
  snapshot     jsonb   NOT NULL
);
CREATE INDEX tracks_camera_last_seen ON tracks (camera, last_seen DESC);

CREATE TABLE webhooks (
  id          text PRIMARY KEY,
  url         text   NOT NULL,
  -- HMAC key: kept as given, since signing needs it (restrict access to this table).
  secret      text   NOT NULL,
  cameras     jsonb,
  queries     jsonb,
  created_at  bigint NOT NULL
);

-- The outbox: a delivery exists until it is delivered or moved to the dead letters; survives restarts and receiver outages.
CREATE TABLE webhook_deliveries (
  id               text PRIMARY KEY,
  webhook_id       text    NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  alert_id         text    NOT NULL,
  payload          jsonb   NOT NULL,
  status           text    NOT NULL CHECK (status IN ('pending', 'delivered')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  bigint  NOT NULL,
  last_error       text,
  last_status      integer,
  created_at       bigint  NOT NULL,
  delivered_at     bigint,
  UNIQUE (webhook_id, alert_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

CREATE TABLE webhook_dead_letters (
  id           text PRIMARY KEY,
  webhook_id   text    NOT NULL,
  alert_id     text    NOT NULL,
  payload      jsonb   NOT NULL,
  attempts     integer NOT NULL,
  last_error   text,
  last_status  integer,
  created_at   bigint  NOT NULL,
  dead_at      bigint  NOT NULL
);
