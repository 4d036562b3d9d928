-- Edge cuts (ADR 0410): besides its PDQ, a picture may carry the PDQ of the
-- picture with its top, and with its bottom, 20 % of rows removed, so that a
-- re-upload with a caption bar over that edge still matches. Stored as one
-- value per item: 35 bytes per cut (edge code, percent, PDQ, quality). NULL for
-- videos and for pictures sent without cuts. PostgreSQL's change rows carry
-- the fingerprints (one range scan per sync page), so they get the column too.
ALTER TABLE items ADD COLUMN edge_cuts BYTEA;
ALTER TABLE changes ADD COLUMN edge_cuts BYTEA;
