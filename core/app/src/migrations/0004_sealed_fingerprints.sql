-- Schema 4: fingerprints sealed at rest.
--
-- items.md5, sha256, pdq, quality and frames were stored in the clear: someone
-- holding the phone and a copy of a picture could confirm the owner reported it.
-- They are replaced by items.fingerprints: the raw hashes (kind, MD5, SHA-256, and
-- PDQ + quality or the vPDQ frames; history::encode_fingerprints) sealed with the
-- host key and bound to "items/<id>/fingerprints".
--
-- The table is rebuilt (SQLite cannot drop NOT NULL columns in place). This SQL
-- copies each row's fingerprints as unsealed JSON (the protocol's ItemInput); the
-- core's data step converts and seals every one of them in this same transaction
-- (it needs the key), so no committed
-- state holds them in the clear, and secure_delete zeroes the old table's pages.
-- The core then checkpoints and truncates the WAL so no frame of the old table
-- is left in it.

CREATE TABLE items_v4 (
  id           INTEGER PRIMARY KEY,
  case_id      INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  kind         TEXT    NOT NULL,     -- image | video
  fingerprints BLOB    NOT NULL,     -- sealed ItemInput JSON (md5, sha256, pdq/quality or frames)
  label        BLOB,                 -- sealed user label
  remote_id    INTEGER,              -- the service's item id once sent
  state        TEXT    NOT NULL,     -- pending | active | withdrawing | withdrawn | rejected
  added_at     INTEGER NOT NULL
) STRICT;

INSERT INTO items_v4(id, case_id, kind, fingerprints, label, remote_id, state, added_at)
SELECT id, case_id, kind,
  CAST(CASE kind
    WHEN 'video' THEN json_object('video', json_object(
      'md5', md5, 'sha256', sha256, 'frames', json(coalesce(frames, '[]'))))
    ELSE json_object('image', json_object(
      'md5', md5, 'sha256', sha256, 'pdq', pdq, 'quality', quality))
  END AS BLOB),
  label, remote_id, state, added_at
FROM items;

DROP INDEX items_by_case;
DROP TABLE items;
ALTER TABLE items_v4 RENAME TO items;
CREATE INDEX items_by_case ON items(case_id, id);
