-- Feedback counts once per platform, item and outcome (issue 10, ADR 0109):
-- "found on 2 platforms, removed on 1", however many event ids a platform sends.
CREATE TABLE feedback_outcomes (
  item_id     BIGINT NOT NULL REFERENCES items(id),
  outcome     TEXT    NOT NULL,
  platform_id BIGINT NOT NULL REFERENCES platforms(id),
  PRIMARY KEY (item_id, outcome, platform_id)
);
INSERT INTO feedback_outcomes (item_id, outcome, platform_id)
  SELECT DISTINCT item_id, outcome, platform_id FROM feedback;
UPDATE items SET
  matches = (SELECT count(*) FROM feedback_outcomes f
             WHERE f.item_id = items.id AND f.outcome = 'matched'),
  removals = (SELECT count(*) FROM feedback_outcomes f
              WHERE f.item_id = items.id AND f.outcome = 'removed'),
  not_violating = (SELECT count(*) FROM feedback_outcomes f
                   WHERE f.item_id = items.id AND f.outcome = 'reviewed_not_violating')
  WHERE id IN (SELECT item_id FROM feedback);
