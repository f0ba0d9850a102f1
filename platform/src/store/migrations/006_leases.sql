-- Leases with an expiry on the database's clock: which privacy process owns which camera, and who is alive.
CREATE TABLE leases (
  name        text PRIMARY KEY,
  owner       text   NOT NULL,
  expires_at  bigint NOT NULL
);
