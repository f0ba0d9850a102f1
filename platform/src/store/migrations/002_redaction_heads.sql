-- Head regions of detected persons, redacted inside the privacy boundary even when no face was found.
ALTER TABLE redaction_records ADD COLUMN heads jsonb NOT NULL DEFAULT '[]'::jsonb;
