-- sw:no-transaction
-- Reverts 0006.
DROP INDEX CONCURRENTLY IF EXISTS sessions_server_id_started_at_idx;
