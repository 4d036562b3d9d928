-- Schema 1: cases, items and the outbox. No pixels, thumbnails, file names or paths.
-- Secrets (case tokens, user labels, outbox payloads with idempotency keys) are
-- sealed with the host key (XChaCha20-Poly1305) before they are written.

CREATE TABLE meta (
  name  TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;

CREATE TABLE cases (
  id          INTEGER PRIMARY KEY,
  case_number TEXT,                  -- NULL until the service has answered
  token       BLOB,                  -- sealed case token, NULL until answered
  submitter   TEXT    NOT NULL,      -- person_shown | parent_or_guardian
  state       TEXT    NOT NULL,      -- pending | open | withdrawing | withdrawn | rejected
  created_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE items (
  id         INTEGER PRIMARY KEY,
  case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind       TEXT    NOT NULL,       -- image | video
  md5        TEXT    NOT NULL,
  sha256     TEXT    NOT NULL,
  pdq        TEXT,                   -- images
  quality    INTEGER,                -- images
  frames     TEXT,                   -- videos: JSON [{t, pdq, quality}]
  label      BLOB,                   -- sealed user label
  remote_id  INTEGER,                -- the service's item id once sent
  state      TEXT    NOT NULL,       -- pending | active | withdrawing | withdrawn | rejected
  added_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX items_by_case ON items(case_id, id);

CREATE TABLE outbox (
  id              INTEGER PRIMARY KEY,
  case_id         INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  op              TEXT    NOT NULL,  -- create_case | add_items | withdraw_item | withdraw_case
  payload         BLOB    NOT NULL,  -- sealed JSON, carries the idempotency key
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,  -- unix milliseconds
  last_error      TEXT,              -- a class (offline, timeout, http_503), never personal data
  state           TEXT    NOT NULL DEFAULT 'pending',  -- pending | rejected
  created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_by_state ON outbox(state, id);
