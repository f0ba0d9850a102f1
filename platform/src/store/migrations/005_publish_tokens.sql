-- WHIP publish tokens: one per WebRTC camera, stored as a SHA-256 hash (the token itself is shown once).
CREATE TABLE publish_tokens (
  camera      text PRIMARY KEY REFERENCES cameras (id) ON DELETE CASCADE,
  token_hash  text   NOT NULL,
  created_at  bigint NOT NULL
);
