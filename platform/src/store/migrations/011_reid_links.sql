-- Cross-camera re-identification: a track that ended on one camera continued by one that started on
-- another. A track continues at most one other (to_track is the key); an identity is the chain's first
-- track. The re-ID stage re-learns its camera topology from the recent rows at start-up.
CREATE TABLE reid_links (
  to_track        text             PRIMARY KEY,
  from_track      text             NOT NULL,
  identity        text             NOT NULL,
  from_camera     text             NOT NULL,
  to_camera       text             NOT NULL,
  transit_s       double precision NOT NULL,
  appearance      double precision NOT NULL,
  transit         double precision NOT NULL,
  confidence      double precision NOT NULL,
  linked_at       bigint           NOT NULL
);
CREATE INDEX reid_links_identity ON reid_links (identity, linked_at);
CREATE INDEX reid_links_from ON reid_links (from_track);
CREATE INDEX reid_links_linked_at ON reid_links (linked_at);
