-- Image embeddings of redacted frames (only when an embedder is on), so backtests can replay similarity terms.
CREATE TABLE frame_embeddings (
  frame_id     text PRIMARY KEY,
  camera       text    NOT NULL,
  captured_at  bigint  NOT NULL,
  model        text    NOT NULL,
  dimensions   integer NOT NULL,
  -- float32 little-endian
  vector       bytea   NOT NULL
);
CREATE INDEX frame_embeddings_camera_captured_at ON frame_embeddings (camera, captured_at);
CREATE INDEX frame_embeddings_captured_at ON frame_embeddings (captured_at);
