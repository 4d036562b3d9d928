-- Schema 3: idempotent queueing from the UI, recovery keys, and sealed values
-- bound to their row.
--
-- * cases.request_id: SHA-256 (hex) of the request id the app passed to
--   queueCase; a retry with the same id finds the same case.
-- * cases.recovery_key: the sealed recovery key the service issued with the case.
-- * Every sealed value (outbox.payload, cases.token, items.label, …) is now sealed
--   with "table/row id/column" as associated data; the core reseals the values of
--   older histories in this migration's transaction (it needs the key).

ALTER TABLE cases ADD COLUMN request_id TEXT;
ALTER TABLE cases ADD COLUMN recovery_key BLOB;
CREATE UNIQUE INDEX cases_by_request ON cases(request_id) WHERE request_id IS NOT NULL;
