-- Schema 2: status snapshots from the service, and what the user last looked at.

CREATE TABLE status_snapshots (
  id         INTEGER PRIMARY KEY,
  case_id    INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
  fetched_at INTEGER NOT NULL,       -- unix seconds of the last refresh giving this body
  body       TEXT    NOT NULL        -- the service's CaseStatus JSON (counts, no fingerprints)
) STRICT;

CREATE INDEX snapshots_by_case ON status_snapshots(case_id, id);

ALTER TABLE cases ADD COLUMN seen_snapshot_id INTEGER;
