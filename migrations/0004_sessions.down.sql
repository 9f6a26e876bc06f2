-- Reverts 0004 sessions.
DROP TABLE sessions;
