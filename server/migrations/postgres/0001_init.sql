-- Takedown hash-list service, PostgreSQL schema version 1.
CREATE TABLE cases (
  id           BIGSERIAL PRIMARY KEY,
  number       TEXT     NOT NULL UNIQUE,
  token_hash   BYTEA    NOT NULL,
  idem_hash    BYTEA    NOT NULL UNIQUE,
  request_hash BYTEA    NOT NULL,
  token_wrap   BYTEA    NOT NULL,
  submitter    TEXT     NOT NULL,
  state        SMALLINT NOT NULL DEFAULT 0,
  item_count   INTEGER  NOT NULL,
  created_at   BIGINT   NOT NULL,
  withdrawn_at BIGINT
);
CREATE TABLE item_ops (
  id           BIGSERIAL PRIMARY KEY,
  case_id      BIGINT NOT NULL REFERENCES cases(id),
  idem_hash    BYTEA  NOT NULL,
  request_hash BYTEA  NOT NULL,
  UNIQUE (case_id, idem_hash)
);
CREATE TABLE items (
  id            BIGSERIAL PRIMARY KEY,
  case_id       BIGINT   NOT NULL REFERENCES cases(id),
  batch         BIGINT   NOT NULL,
  kind          SMALLINT NOT NULL,
  md5           BYTEA    NOT NULL,
  sha256        BYTEA    NOT NULL,
  pdq           BYTEA,
  quality       SMALLINT,
  frames        BYTEA,
  state         SMALLINT NOT NULL DEFAULT 0,
  add_seq       BIGINT   NOT NULL,
  matches       INTEGER  NOT NULL DEFAULT 0,
  removals      INTEGER  NOT NULL DEFAULT 0,
  not_violating INTEGER  NOT NULL DEFAULT 0,
  created_at    BIGINT   NOT NULL,
  withdrawn_at  BIGINT
);
CREATE INDEX items_case ON items (case_id, batch);
-- The change log. seq is assigned from sync_counter while holding its row
-- lock until commit, so commit order equals seq order (ADR 0101). The item's
-- fingerprints are copied in so a sync page is one range scan, no join.
CREATE TABLE changes (
  seq     BIGINT PRIMARY KEY,
  item_id BIGINT NOT NULL,
  op      SMALLINT NOT NULL,
  kind    SMALLINT NOT NULL,
  md5     BYTEA    NOT NULL,
  sha256  BYTEA    NOT NULL,
  pdq     BYTEA,
  quality SMALLINT,
  frames  BYTEA
);
CREATE TABLE sync_counter (
  id       BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
  last_seq BIGINT NOT NULL
);
INSERT INTO sync_counter (id, last_seq) VALUES (TRUE, 0);
CREATE TABLE platforms (
  id             BIGSERIAL PRIMARY KEY,
  name           TEXT   NOT NULL UNIQUE,
  key_hash       BYTEA  NOT NULL UNIQUE,
  created_at     BIGINT NOT NULL,
  revoked_at     BIGINT,
  synced_through BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE feedback (
  id          BIGSERIAL PRIMARY KEY,
  platform_id BIGINT NOT NULL REFERENCES platforms(id),
  event_id    TEXT   NOT NULL,
  item_id     BIGINT NOT NULL REFERENCES items(id),
  outcome     TEXT   NOT NULL,
  reference   TEXT,
  created_at  BIGINT NOT NULL,
  UNIQUE (platform_id, event_id)
);
CREATE TABLE events (
  id      BIGSERIAL PRIMARY KEY,
  case_id BIGINT  NOT NULL REFERENCES cases(id),
  at      BIGINT  NOT NULL,
  kind    TEXT    NOT NULL,
  item_id BIGINT,
  count   INTEGER NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);
