-- Reverts 0001 users.
DROP TABLE users;
DROP FUNCTION set_updated_at();
