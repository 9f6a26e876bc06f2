-- Reverts 0002 vpn_servers.
DROP TABLE vpn_servers;
