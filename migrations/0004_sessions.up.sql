-- 0004 sessions: one row per VPN connection.
--
-- The busiest table: a bigint identity rather than a uuid keeps its
-- primary key index small and appended to at the right edge. A server
-- with sessions cannot be deleted (ON DELETE RESTRICT): deactivate it.

CREATE TABLE sessions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    server_id uuid NOT NULL REFERENCES vpn_servers (id) ON DELETE RESTRICT,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    bytes_in bigint NOT NULL DEFAULT 0 CONSTRAINT sessions_bytes_in_nonnegative CHECK (bytes_in >= 0),
    bytes_out bigint NOT NULL DEFAULT 0 CONSTRAINT sessions_bytes_out_nonnegative CHECK (bytes_out >= 0),
    client_ip inet,
    CONSTRAINT sessions_end_after_start CHECK (ended_at IS NULL OR ended_at >= started_at)
);

-- A user's sessions, newest first (and the user foreign key's index).
CREATE INDEX sessions_user_id_started_at_idx ON sessions (user_id, started_at DESC);
-- Open sessions per server: its current load against capacity.
CREATE INDEX sessions_open_by_server_idx ON sessions (server_id) WHERE ended_at IS NULL;
