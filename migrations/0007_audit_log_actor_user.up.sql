-- sw:no-transaction
-- 0007: link an audit entry to the user who acted, where there is one
-- (actor stays: it also names systems and outlives deleted accounts).
--
-- Each statement commits on its own, so no lock outlives its statement:
-- the column has no default (a catalog change only); the foreign key is
-- added NOT VALID (a brief SHARE ROW EXCLUSIVE on audit_log and users, no
-- scan) and then validated (SHARE UPDATE EXCLUSIVE: reads and writes go
-- on during the scan); the index ON DELETE SET NULL looks rows up by is
-- built concurrently.
ALTER TABLE audit_log ADD COLUMN actor_user_id uuid;

ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_user_id_fkey
    FOREIGN KEY (actor_user_id) REFERENCES users (id) ON DELETE SET NULL NOT VALID;

ALTER TABLE audit_log VALIDATE CONSTRAINT audit_log_actor_user_id_fkey;

CREATE INDEX CONCURRENTLY audit_log_actor_user_id_idx ON audit_log (actor_user_id)
    WHERE actor_user_id IS NOT NULL;
