-- sw:no-transaction
-- 0006: per-server usage reports (a server's sessions in a time range),
-- and the index the sessions -> vpn_servers foreign key needs when a
-- server row is deleted or its id checked.
--
-- Built CONCURRENTLY, so writes to sessions go on during the build; that
-- cannot run in a transaction block, hence the first line. No IF NOT
-- EXISTS: after a failed build the INVALID index must be dropped, not
-- skipped (sw-schema status prints the DROP INDEX CONCURRENTLY to run).
CREATE INDEX CONCURRENTLY sessions_server_id_started_at_idx ON sessions (server_id, started_at DESC);
