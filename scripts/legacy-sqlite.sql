-- The VPN service's legacy SQLite database, in the layout the old
-- application wrote: text ids (UUIDs, one in upper case), 0/1 booleans,
-- dates as text in mixed ISO forms (space or T, Z, an offset, a bare
-- date, fractions) and one as Unix seconds, JSON as text, and a
-- plaintext `password` column that must not come along.
-- scripts/quickstart builds its demo file from this, and the sw-schema
-- tests move it end to end (tests/by-tool/sw_schema/legacy.rs).
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password TEXT NOT NULL,
    is_admin INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE vpn_servers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    region TEXT NOT NULL,
    hostname TEXT NOT NULL,
    wireguard_public_key TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id),
    plan TEXT NOT NULL,
    status TEXT NOT NULL,
    current_period_start TEXT NOT NULL,
    current_period_end TEXT NOT NULL,
    canceled_at TEXT,
    created_at TEXT NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL REFERENCES users (id),
    server_id TEXT NOT NULL REFERENCES vpn_servers (id),
    started_at TEXT NOT NULL,
    ended_at TEXT,
    bytes_in INTEGER NOT NULL DEFAULT 0,
    bytes_out INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT,
    details TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO users VALUES
    ('3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', 'ada@example.com', 'hunter2-ada', 1, '2022-01-10 09:15:00'),
    ('7B6D4C1E-2F3A-4B5C-8D9E-0A1B2C3D4E5F', 'bob@example.com', 'bob-plain-pw', 0, '2022-02-11T10:00:00Z'),
    ('a1b2c3d4-e5f6-4711-8899-aabbccddeeff', 'carol@example.com', 'carol-secret', 0, 1650000000),
    ('0e9d8c7b-6a5f-4e3d-9c1b-0a9f8e7d6c5b', 'dave@example.com', 'dave-pass-123', 0, '2022-04-01T12:00:00+02:00');
INSERT INTO vpn_servers VALUES
    ('5c9e3b1a-0d2f-4e6a-8b7c-1d2e3f4a5b6c', 'Frankfurt 1', 'eu-central', 'fra1.vpn.example', 'g3HY5Rak3Xht1wS8n8RTvhRBSHtclOGKaW7Gw7uVSX0=', 500, 1, '2021-12-01'),
    ('6d0f4c2b-1e3a-4f7b-9c8d-2e3f4a5b6c7d', 'Virginia 1', 'us-east', 'iad1.vpn.example', 'l0vcQv+J77tyuY4zBHrvEEXRYBKstZfbh9UBgD458rw=', 300, 1, '2021-12-01 00:00:00'),
    ('7e1a5d3c-2f4b-4a8c-8d9e-3f4a5b6c7d8e', 'Old Tokyo', 'asia-northeast', 'nrt-old.vpn.example', 'Sp19hgrWx1jQeY7AWoqSjdW9znY/6itvLw7DI6IyCuM=', 100, 0, '2021-06-15T08:30:00.250Z');
INSERT INTO subscriptions VALUES
    ('b0000000-0000-4000-8000-000000000001', '3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', 'yearly', 'active', '2023-01-01', '2024-01-01', NULL, '2022-12-31 23:59:59'),
    ('b0000000-0000-4000-8000-000000000002', '7B6D4C1E-2F3A-4B5C-8D9E-0A1B2C3D4E5F', 'monthly', 'canceled', '2023-02-01T00:00:00Z', '2023-03-01T00:00:00Z', '2023-02-20 18:45:00', '2023-02-01'),
    ('b0000000-0000-4000-8000-000000000003', '7B6D4C1E-2F3A-4B5C-8D9E-0A1B2C3D4E5F', 'monthly', 'active', '2023-06-01 00:00:00', '2023-07-01 00:00:00', NULL, '2023-06-01'),
    ('b0000000-0000-4000-8000-000000000004', 'a1b2c3d4-e5f6-4711-8899-aabbccddeeff', 'free', 'trialing', '2023-05-05T08:00:00+02:00', '2023-05-19T08:00:00+02:00', NULL, '2023-05-05');
INSERT INTO sessions (user_id, server_id, started_at, ended_at, bytes_in, bytes_out) VALUES
    ('3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', '5c9e3b1a-0d2f-4e6a-8b7c-1d2e3f4a5b6c', '2023-06-01 08:00:00', '2023-06-01 09:30:00', 104857600, 5242880),
    ('3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', '6d0f4c2b-1e3a-4f7b-9c8d-2e3f4a5b6c7d', '2023-06-02T07:00:00Z', '2023-06-02T07:05:30.5Z', 1024, 2048),
    ('7B6D4C1E-2F3A-4B5C-8D9E-0A1B2C3D4E5F', '5c9e3b1a-0d2f-4e6a-8b7c-1d2e3f4a5b6c', '2023-06-03 22:10:00', '2023-06-04 01:00:00', 9876543210, 123456789),
    ('a1b2c3d4-e5f6-4711-8899-aabbccddeeff', '7e1a5d3c-2f4b-4a8c-8d9e-3f4a5b6c7d8e', '2021-07-01T10:00:00+09:00', '2021-07-01T11:00:00+09:00', 0, 0),
    ('0e9d8c7b-6a5f-4e3d-9c1b-0a9f8e7d6c5b', '6d0f4c2b-1e3a-4f7b-9c8d-2e3f4a5b6c7d', '2023-06-05 12:00:00', NULL, 4096, 4096),
    ('7B6D4C1E-2F3A-4B5C-8D9E-0A1B2C3D4E5F', '6d0f4c2b-1e3a-4f7b-9c8d-2e3f4a5b6c7d', '2023-06-05T13:00:00', NULL, 0, 512);
INSERT INTO audit_log (at, actor, action, object, details) VALUES
    ('2021-12-01 00:00:00', 'system', 'server.create', 'vpn_server:5c9e3b1a-0d2f-4e6a-8b7c-1d2e3f4a5b6c', '{"name": "Frankfurt 1"}'),
    ('2022-01-10T09:15:00Z', 'system', 'user.create', 'user:3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', '{"is_admin": true}'),
    ('2022-06-15', 'user:3f1c2a9e-8a34-4a43-9d1e-0f2b5c6d7e8f', 'server.deactivate', 'vpn_server:7e1a5d3c-2f4b-4a8c-8d9e-3f4a5b6c7d8e', '{"reason": "hardware retired", "sessions_open": 0}'),
    ('2023-02-20 18:45:00', 'user:7b6d4c1e-2f3a-4b5c-8d9e-0a1b2c3d4e5f', 'subscription.cancel', 'subscription:b0000000-0000-4000-8000-000000000002', '{}'),
    ('2023-06-05T12:00:00.125+00:00', 'system', 'session.start', NULL, '{"server": "Virginia 1", "bytes": [0, 4096]}');
