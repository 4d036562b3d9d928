-- Submitters see per-case item numbers 1..n, never the global item id, which
-- would show how many items the service holds (issue 10, ADR 0110). Numbers
-- follow the order of addition and are never reused (withdrawn items keep theirs).
ALTER TABLE items ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE items SET number =
  (SELECT count(*) FROM items j WHERE j.case_id = items.case_id AND j.id <= items.id);
CREATE UNIQUE INDEX items_case_number ON items (case_id, number);
