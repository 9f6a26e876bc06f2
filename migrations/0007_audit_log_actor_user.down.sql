-- sw:no-transaction
-- Reverts 0007: the index first (concurrently), then the column, which
-- takes its foreign key with it.
DROP INDEX CONCURRENTLY IF EXISTS audit_log_actor_user_id_idx;

ALTER TABLE audit_log DROP COLUMN IF EXISTS actor_user_id;
