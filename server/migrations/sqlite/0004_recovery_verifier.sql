-- Recovery keys (ADR 0112): the phone makes a key a person can write down and
-- sends only its verifier (SHA-256 of the key) when it opens the case. The key
-- later trades for a fresh case token at POST /v1/cases/{n}/restore. NULL for
-- cases opened without one.
ALTER TABLE cases ADD COLUMN recovery_verifier BLOB;
