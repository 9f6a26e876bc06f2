-- Reverts 0005 audit_log.
DROP TABLE audit_log;
