-- Submitters see per-case item numbers 1..n, never the global item id, which
-- would show how many items the service holds (issue 10, ADR 0110). Numbers
-- follow the order of addition and are never reused (withdrawn items keep theirs).
ALTER TABLE items ADD COLUMN number INTEGER;
UPDATE items i SET number = n.number
  FROM (SELECT id, row_number() OVER (PARTITION BY case_id ORDER BY id)::integer AS number
        FROM items) n
  WHERE n.id = i.id;
ALTER TABLE items ALTER COLUMN number SET NOT NULL;
CREATE UNIQUE INDEX items_case_number ON items (case_id, number);
