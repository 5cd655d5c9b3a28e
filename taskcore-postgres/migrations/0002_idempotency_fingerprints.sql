-- taskcore-postgres schema version 2 (major 1, additive): the fingerprint of the request each
-- idempotency key was first used with (taskcore::RequestFingerprint, 64 hex digits), so that the
-- key used again with another request is refused. Keys stored before have none and replay as
-- they always did.

ALTER TABLE idempotency_keys ADD COLUMN fingerprint text;
