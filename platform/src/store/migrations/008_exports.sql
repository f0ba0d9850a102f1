-- Evidence exports: who exported which range of which camera, when and why, and what was produced.
-- Each export also holds its range in recording_holds, so retention never prunes what it refers to.
CREATE TABLE exports (
  id            text    PRIMARY KEY,
  camera        text    NOT NULL,
  from_at       bigint  NOT NULL,
  to_at         bigint  NOT NULL,
  reason        text    NOT NULL,
  requested_by  text    NOT NULL,
  created_at    bigint  NOT NULL,
  state         text    NOT NULL CHECK (state IN ('processing', 'done', 'failed')),
  error         text,
  mp4_sha256    text,
  mp4_bytes     bigint,
  has_pdf       boolean NOT NULL DEFAULT false,
  finished_at   bigint
);
CREATE INDEX exports_created_at ON exports (created_at DESC);
