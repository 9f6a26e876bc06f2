-- 0001 users: the service's accounts.
--
-- Emails are unique whatever their case: a unique index on lower(email)
-- rather than citext, so no extension has to be allow-listed (Azure
-- Flexible Server needs azure.extensions for citext). password_hash holds an
-- argon2id PHC string, or NULL for an account that has no password yet (the
-- accounts moved from the legacy SQLite file: their plaintext passwords do
-- not come along, so they set a new one); the CHECK keeps anything that is
-- not an argon2id hash, a plaintext password above all, out of the column.

CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL
        CONSTRAINT users_email_format CHECK (length(email) <= 254 AND email ~ '^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$'),
    password_hash text
        CONSTRAINT users_password_hash_argon2id CHECK (password_hash LIKE '$argon2id$v=19$%'),
    is_admin boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
