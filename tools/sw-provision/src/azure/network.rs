//! Network access: public (firewall rules decide who connects) or private
//! (VNet integration: the server gets an address in a subnet delegated to
//! Flexible Server and a record in a private DNS zone, and has no public
//! endpoint). Chosen at create time, like Azure does.
//!
//! A private create is checked before anything is written: both resources
//! are read, the subnet must be delegated to
//! `Microsoft.DBforPostgreSQL/flexibleServers` and the zone's name must end
//! in `.postgres.database.azure.com` (the service would otherwise fail the
//! create minutes in, e.g. `PrivateDnsZoneNameNotValid`; fixtures README
//! §11). Firewall flags make no sense without a public endpoint and are
//! refused.

use clap::{Args, ValueEnum};
use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::{Error, Result};

use super::args::ApplyArgs;
use super::server::{same, text};

/// api-version of `Microsoft.Network/virtualNetworks/subnets` reads.
const SUBNET_API: &str = "2024-05-01";
/// api-version of `Microsoft.Network/privateDnsZones` reads.
const DNS_ZONE_API: &str = "2024-06-01";
/// The service a Flexible Server's subnet must be delegated to.
pub const DELEGATION: &str = "Microsoft.DBforPostgreSQL/flexibleServers";

/// Public or private access (create only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Network {
    /// A public endpoint; --allow-ip rules say who may connect.
    Public,
    /// VNet integration: an address in --subnet, a name in --private-dns-zone, no public endpoint.
    Private,
}

/// The network flags.
#[derive(Args, Debug, Clone)]
pub struct NetworkArgs {
    /// Network access (create only) [create default: public].
    #[arg(long, value_enum)]
    pub network: Option<Network>,
    /// The subnet of --network private (ARM id of .../virtualNetworks/VNET/subnets/NAME, delegated to
    /// Microsoft.DBforPostgreSQL/flexibleServers).
    #[arg(long, value_name = "RESOURCE_ID", value_parser = parse_subnet_id)]
    pub subnet: Option<String>,
    /// The private DNS zone of --network private (ARM id of .../privateDnsZones/NAME; the name ends in
    /// .postgres.database.azure.com).
    #[arg(long, value_name = "RESOURCE_ID", value_parser = parse_zone_id)]
    pub private_dns_zone: Option<String>,
}

/// Whether an ARM id has these segments (types compared without case;
/// `None` stands for a name).
fn id_shape(id: &str, shape: &[Option<&str>]) -> bool {
    let parts: Vec<&str> = id.split('/').collect();
    parts.len() == shape.len() + 1
        && parts[0].is_empty()
        && parts[1..]
            .iter()
            .zip(shape)
            .all(|(p, s)| !p.is_empty() && s.is_none_or(|s| same(p, s)))
}

const RG: [Option<&str>; 6] = [
    Some("subscriptions"),
    None,
    Some("resourceGroups"),
    None,
    Some("providers"),
    Some("Microsoft.Network"),
];

fn parse_subnet_id(s: &str) -> std::result::Result<String, String> {
    let mut shape = RG.to_vec();
    shape.extend([Some("virtualNetworks"), None, Some("subnets"), None]);
    if id_shape(s, &shape) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a subnet's ARM id (/subscriptions/ID/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/VNET/subnets/NAME)"
        ))
    }
}

fn parse_zone_id(s: &str) -> std::result::Result<String, String> {
    let mut shape = RG.to_vec();
    shape.extend([Some("privateDnsZones"), None]);
    if id_shape(s, &shape) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a private DNS zone's ARM id (/subscriptions/ID/resourceGroups/RG/providers/Microsoft.Network/privateDnsZones/NAME)"
        ))
    }
}

/// Whether a server resource is VNet-integrated.
pub fn is_private(server: &Value) -> bool {
    !text(server, "/properties/network/delegatedSubnetResourceId").is_empty()
}

/// The DNS suffix Flexible Server names live under in the cloud of this ARM endpoint.
pub fn dns_suffix(arm: &str) -> &'static str {
    if arm.contains("usgovcloudapi.net") {
        ".postgres.database.usgovcloudapi.net"
    } else if arm.contains("chinacloudapi.cn") {
        ".postgres.database.chinacloudapi.cn"
    } else {
        ".postgres.database.azure.com"
    }
}

impl NetworkArgs {
    /// Whether private access is asked for.
    pub fn private(&self) -> bool {
        self.network == Some(Network::Private)
    }

    /// Flag combinations that cannot work.
    ///
    /// # Errors
    /// 64 naming the flags.
    pub fn check_flags(&self, a: &ApplyArgs) -> Result<()> {
        let named = self.subnet.is_some() || self.private_dns_zone.is_some();
        if !self.private() && named {
            return Err(Error::usage("--subnet and --private-dns-zone need --network private"));
        }
        if self.private() && !(self.subnet.is_some() && self.private_dns_zone.is_some()) {
            return Err(Error::usage("--network private needs --subnet and --private-dns-zone"));
        }
        if self.private() {
            refuse_firewall_flags(a)?;
        }
        Ok(())
    }

    /// What an existing server cannot change, and firewall flags for one
    /// without a public endpoint.
    ///
    /// # Errors
    /// 64 for firewall flags on a private server; 65 when the flags ask
    /// for another network than the server was created with.
    pub fn check_server(&self, a: &ApplyArgs, server: &Value) -> Result<()> {
        let private = is_private(server);
        if private {
            refuse_firewall_flags(a)?;
        }
        let asked = match self.network {
            None => return Ok(()),
            Some(n) => n == Network::Private,
        };
        let create_time = "network access is chosen when a server is created; make a new server (a point-in-time restore can choose it) and move the application to it";
        if asked != private {
            return Err(Error::data(format!(
                "the server has {} access and --network asks for {}: {create_time}",
                if private { "private" } else { "public" },
                if asked { "private" } else { "public" },
            )));
        }
        let have = (
            text(server, "/properties/network/delegatedSubnetResourceId"),
            text(server, "/properties/network/privateDnsZoneArmResourceId"),
        );
        let differs = |want: &Option<String>, have: &str| want.as_deref().is_some_and(|w| !same(w, have));
        if private && (differs(&self.subnet, have.0) || differs(&self.private_dns_zone, have.1)) {
            return Err(Error::data(format!(
                "the server is in subnet {} with DNS zone {}: {create_time}",
                have.0, have.1
            )));
        }
        Ok(())
    }

    /// Read the subnet and the DNS zone of a private create and check them.
    ///
    /// # Errors
    /// 65 naming what is missing or wrong.
    pub fn preflight(&self, c: &ArmClient) -> Result<()> {
        let (Some(subnet), Some(zone)) = (&self.subnet, &self.private_dns_zone) else {
            return Ok(());
        };
        let s = c
            .get_opt(&format!("{subnet}?api-version={SUBNET_API}"))?
            .ok_or_else(|| Error::data(format!("the subnet {subnet} does not exist")))?;
        check_delegation(subnet, &s)?;
        let z = c
            .get_opt(&format!("{zone}?api-version={DNS_ZONE_API}"))?
            .ok_or_else(|| Error::data(format!("the private DNS zone {zone} does not exist")))?;
        let name = match text(&z, "/name") {
            "" => zone.rsplit('/').next().unwrap_or(""),
            n => n,
        };
        let suffix = dns_suffix(&c.endpoints.arm);
        let lower = name.to_ascii_lowercase();
        if !lower.ends_with(suffix) || lower.len() == suffix.len() {
            return Err(Error::data(format!(
                "the private DNS zone {name:?} cannot hold a Flexible Server: its name must end in {suffix} (e.g. orders.private{suffix})"
            )));
        }
        Ok(())
    }

    /// `properties.network` of a create.
    pub fn body(&self) -> Value {
        match (&self.subnet, &self.private_dns_zone) {
            (Some(subnet), Some(zone)) if self.private() => json!({
                "delegatedSubnetResourceId": subnet,
                "privateDnsZoneArmResourceId": zone,
            }),
            _ => json!({"publicNetworkAccess": "Enabled"}),
        }
    }
}

/// Refuse firewall flags where there is no public endpoint.
fn refuse_firewall_flags(a: &ApplyArgs) -> Result<()> {
    if !a.allow_ip.is_empty() || a.allow_azure_services {
        return Err(Error::usage(
            "--allow-ip and --allow-azure-services are firewall rules of the public endpoint, which a server with private access does not have; clients reach it from inside the VNet",
        ));
    }
    Ok(())
}

/// The subnet must be delegated to Flexible Server.
fn check_delegation(id: &str, subnet: &Value) -> Result<()> {
    let services: Vec<&str> = subnet
        .pointer("/properties/delegations")
        .and_then(Value::as_array)
        .map(|d| d.iter().map(|x| text(x, "/properties/serviceName")).collect())
        .unwrap_or_default();
    if services.iter().any(|s| same(s, DELEGATION)) {
        return Ok(());
    }
    let to = if services.is_empty() {
        "nothing".to_owned()
    } else {
        services.join(", ")
    };
    Err(Error::data(format!(
        "the subnet {id} is not delegated to {DELEGATION} (it is delegated to {to}): add the delegation, or name a subnet that has it"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_checked_by_shape() {
        let sub = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v/subnets/n";
        assert!(parse_subnet_id(sub).is_ok());
        assert!(parse_subnet_id(&sub.to_ascii_lowercase()).is_ok());
        assert!(
            parse_subnet_id("/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v").is_err()
        );
        let zone = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/privateDnsZones/a.postgres.database.azure.com";
        assert!(parse_zone_id(zone).is_ok());
        assert!(parse_zone_id(sub).is_err());
        assert_eq!(
            dns_suffix("https://management.usgovcloudapi.net"),
            ".postgres.database.usgovcloudapi.net"
        );
        let delegated = json!({"properties": {"delegations": [{"properties": {"serviceName": "microsoft.dbforpostgresql/flexibleservers"}}]}});
        assert!(check_delegation(sub, &delegated).is_ok());
        let e = check_delegation(sub, &json!({"properties": {"delegations": []}})).unwrap_err();
        assert!(e.to_string().contains("delegated to nothing"), "{e}");
    }
}
