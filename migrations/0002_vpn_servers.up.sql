-- 0002 vpn_servers: the WireGuard endpoints users connect to.
--
-- A server is deactivated (active = false), not deleted, once sessions
-- refer to it. The public key is 32 bytes in base64 (44 characters, the
-- last significant one carrying only 4 bits), as `wg pubkey` prints it.

CREATE TABLE vpn_servers (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL CONSTRAINT vpn_servers_name_key UNIQUE,
    region text NOT NULL
        CONSTRAINT vpn_servers_region_format CHECK (region ~ '^[a-z]+(-[a-z0-9]+)+$'),
    hostname text NOT NULL CONSTRAINT vpn_servers_hostname_key UNIQUE
        CONSTRAINT vpn_servers_hostname_format CHECK (hostname ~ '^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$'),
    wireguard_public_key text NOT NULL CONSTRAINT vpn_servers_wireguard_public_key_key UNIQUE
        CONSTRAINT vpn_servers_wireguard_public_key_format CHECK (wireguard_public_key ~ '^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$'),
    capacity integer NOT NULL CONSTRAINT vpn_servers_capacity_positive CHECK (capacity > 0),
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The client's server list: active servers by region.
CREATE INDEX vpn_servers_region_active_idx ON vpn_servers (region) WHERE active;

CREATE TRIGGER vpn_servers_set_updated_at BEFORE UPDATE ON vpn_servers
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
