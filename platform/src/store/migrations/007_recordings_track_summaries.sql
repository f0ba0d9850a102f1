-- Recorded history: the redacted recording's segment index, ranges pruning must keep, and per-track
-- summaries (one row per track, not per frame) that search reads, with their redacted thumbnails.

-- One row per finished fMP4 segment. A row is written only after its file is complete on disk, and
-- deleted before its file is, so the index never points at a missing file.
CREATE TABLE recording_segments (
  camera      text    NOT NULL,
  run_id      text    NOT NULL,
  seq         integer NOT NULL,
  path        text    NOT NULL,
  init_path   text    NOT NULL,
  start_at    bigint  NOT NULL,
  end_at      bigint  NOT NULL,
  bytes       bigint  NOT NULL,
  frames      integer NOT NULL,
  keyframes   integer NOT NULL,
  width       integer NOT NULL,
  height      integer NOT NULL,
  created_at  bigint  NOT NULL,
  PRIMARY KEY (camera, run_id, seq)
);
CREATE INDEX recording_segments_camera_start ON recording_segments (camera, start_at);
CREATE INDEX recording_segments_start ON recording_segments (start_at);

CREATE TABLE recording_holds (
  id          text   PRIMARY KEY,
  camera      text   NOT NULL,
  from_at     bigint NOT NULL,
  to_at       bigint NOT NULL,
  reason      text   NOT NULL,
  created_at  bigint NOT NULL
);
CREATE INDEX recording_holds_camera ON recording_holds (camera, from_at);

CREATE TABLE track_summaries (
  track_id        text     PRIMARY KEY,
  camera          text     NOT NULL,
  label           text     NOT NULL,
  first_seen      bigint   NOT NULL,
  last_seen       bigint   NOT NULL,
  ended           boolean  NOT NULL,
  observations    integer  NOT NULL,
  best_score      double precision NOT NULL,
  mean_score      double precision NOT NULL,
  -- Match quality without a colour term (detection score and time in view), 0..1: the rank of a search
  -- without colours, so "person" is an ordered index scan rather than a sort.
  quality         double precision NOT NULL,
  best_at         bigint   NOT NULL,
  best_box        jsonb    NOT NULL,
  frame_width     integer  NOT NULL,
  frame_height    integer  NOT NULL,
  -- Bit i set: colour i of BASIC_COLORS had a share of at least TRACK_COLOR_MIN_SHARE on that part.
  color_any       integer  NOT NULL,
  color_upper     integer  NOT NULL,
  color_lower     integer  NOT NULL,
  colors          jsonb    NOT NULL,
  zones           text[]   NOT NULL,
  dwell           jsonb    NOT NULL,
  carrying        text[]   NOT NULL,
  carried_colors  text[]   NOT NULL,
  updated_at      bigint   NOT NULL
);
CREATE INDEX track_summaries_label_quality ON track_summaries (label, quality DESC, last_seen DESC, track_id DESC);
CREATE INDEX track_summaries_label_last_seen ON track_summaries (label, last_seen DESC);
CREATE INDEX track_summaries_camera_last_seen ON track_summaries (camera, last_seen DESC);
CREATE INDEX track_summaries_last_seen ON track_summaries (last_seen);

CREATE TABLE track_thumbnails (
  track_id     text   PRIMARY KEY,
  camera       text   NOT NULL,
  captured_at  bigint NOT NULL,
  crop         bytea  NOT NULL,
  frame        bytea  NOT NULL
);
CREATE INDEX track_thumbnails_captured_at ON track_thumbnails (captured_at);

-- Uploaded videos are virtual cameras (origin 'upload'): their history is searched like any camera's.
ALTER TABLE cameras DROP CONSTRAINT IF EXISTS cameras_origin_check;
ALTER TABLE cameras ADD CONSTRAINT cameras_origin_check CHECK (origin IN ('config', 'api', 'upload'));
