-- Takedown hash-list service, SQLite schema version 1.
CREATE TABLE cases (
  id           INTEGER PRIMARY KEY,
  number       TEXT    NOT NULL UNIQUE,
  token_hash   BLOB    NOT NULL,
  idem_hash    BLOB    NOT NULL UNIQUE,
  request_hash BLOB    NOT NULL,
  token_wrap   BLOB    NOT NULL,
  submitter    TEXT    NOT NULL,
  state        INTEGER NOT NULL DEFAULT 0,   -- 0 active, 1 withdrawn
  item_count   INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  withdrawn_at INTEGER
);
-- One row per accepted add-items request (idempotency).
CREATE TABLE item_ops (
  id           INTEGER PRIMARY KEY,
  case_id      INTEGER NOT NULL REFERENCES cases(id),
  idem_hash    BLOB    NOT NULL,
  request_hash BLOB    NOT NULL,
  UNIQUE (case_id, idem_hash)
);
CREATE TABLE items (
  id            INTEGER PRIMARY KEY,
  case_id       INTEGER NOT NULL REFERENCES cases(id),
  batch         INTEGER NOT NULL,              -- 0: created with the case; else item_ops.id
  kind          INTEGER NOT NULL,              -- 0 image, 1 video
  md5           BLOB    NOT NULL,
  sha256        BLOB    NOT NULL,
  pdq           BLOB,
  quality       INTEGER,
  frames        BLOB,                          -- video: 41 bytes per frame (t f64 LE, pdq, quality)
  state         INTEGER NOT NULL DEFAULT 0,
  add_seq       INTEGER NOT NULL,
  matches       INTEGER NOT NULL DEFAULT 0,
  removals      INTEGER NOT NULL DEFAULT 0,
  not_violating INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  withdrawn_at  INTEGER
);
CREATE INDEX items_case ON items (case_id, batch);
-- The change log platforms sync: seq is the cursor.
CREATE TABLE changes (
  seq     INTEGER PRIMARY KEY,
  item_id INTEGER NOT NULL,
  op      INTEGER NOT NULL                     -- 1 add, 2 withdraw
);
CREATE TABLE platforms (
  id             INTEGER PRIMARY KEY,
  name           TEXT    NOT NULL UNIQUE,
  key_hash       BLOB    NOT NULL UNIQUE,
  created_at     INTEGER NOT NULL,
  revoked_at     INTEGER,
  synced_through INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE feedback (
  id          INTEGER PRIMARY KEY,
  platform_id INTEGER NOT NULL REFERENCES platforms(id),
  event_id    TEXT    NOT NULL,
  item_id     INTEGER NOT NULL REFERENCES items(id),
  outcome     TEXT    NOT NULL,
  reference   TEXT,
  created_at  INTEGER NOT NULL,
  UNIQUE (platform_id, event_id)
);
CREATE TABLE events (
  id      INTEGER PRIMARY KEY,
  case_id INTEGER NOT NULL REFERENCES cases(id),
  at      INTEGER NOT NULL,
  kind    TEXT    NOT NULL,
  item_id INTEGER,
  count   INTEGER NOT NULL
);
CREATE INDEX events_case ON events (case_id, id);
