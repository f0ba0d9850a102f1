-- MEDIA_STORE=s3: a segment is archived once its file is in object storage (and its local copy gone).
ALTER TABLE recording_segments ADD COLUMN archived boolean NOT NULL DEFAULT false;
CREATE INDEX recording_segments_unarchived ON recording_segments (created_at) WHERE NOT archived;
