//! The request bodies of a restore (createMode PointInTimeRestore or
//! GeoRestore, as in the official examples), inheriting from the source
//! what a restored server does not get by itself: its network (delegated
//! subnet and private DNS zone, or public access turned off), its high
//! availability and, where set, its customer-managed data encryption with
//! the identities it uses; plus tags naming the source and the point, by
//! which an interrupted run recognises the server it was creating.

use serde_json::{Map, Value, json};
use sw_core::azure::flexible::text;

/// The tag naming the source a server was restored from.
pub const TAG_SOURCE: &str = "sw-restore-source";
/// The tag naming the point it was restored to (`latest`, or RFC 3339).
pub const TAG_POINT: &str = "sw-restore-point";

/// What the caller overrides instead of inheriting.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// High availability mode (Disabled, SameZone, ZoneRedundant).
    pub ha: Option<String>,
    /// Availability zone of the new server.
    pub zone: Option<String>,
    /// Delegated subnet (ARM id) for a server in a virtual network.
    pub subnet: Option<String>,
    /// Private DNS zone (ARM id) for a server in a virtual network.
    pub private_dns_zone: Option<String>,
}

/// The body and the names of what it inherited.
#[derive(Debug, Clone)]
pub struct Body {
    pub value: Value,
    pub inherited: Vec<String>,
}

/// `createMode` (PointInTimeRestore, GeoRestore, Replica...) of `source`
/// into `location`, at `point` (RFC 3339 with microseconds; none for a
/// replica), tagged with `point_tag`.
pub fn restore(
    create_mode: &str,
    location: &str,
    source: &Value,
    point: Option<&str>,
    point_tag: &str,
    o: &Overrides,
) -> Body {
    let mut props = Map::new();
    props.insert("createMode".into(), json!(create_mode));
    props.insert("sourceServerResourceId".into(), json!(text(source, "/id")));
    if let Some(p) = point {
        props.insert("pointInTimeUTC".into(), json!(p));
    }
    let mut inherited = Vec::new();
    let same_region = text(source, "/location")
        .replace(' ', "")
        .eq_ignore_ascii_case(location);
    if let Some(n) = network(source, o, same_region) {
        props.insert("network".into(), n);
        inherited.push("network".into());
    }
    let ha =
        o.ha.clone()
            .unwrap_or_else(|| text(source, "/properties/highAvailability/mode").to_owned());
    if !ha.is_empty() && !ha.eq_ignore_ascii_case("disabled") {
        props.insert("highAvailability".into(), json!({"mode": ha}));
        inherited.push("high_availability".into());
    }
    if let Some(z) = &o.zone {
        props.insert("availabilityZone".into(), json!(z));
    }
    let mut body = json!({"location": location});
    if text(source, "/properties/dataEncryption/type").eq_ignore_ascii_case("AzureKeyVault") {
        let mut de = source["properties"]["dataEncryption"].clone();
        if let Some(m) = de.as_object_mut() {
            // Read-only status fields are not sent back.
            m.retain(|k, _| !k.to_ascii_lowercase().contains("keystatus"));
        }
        props.insert("dataEncryption".into(), de);
        if let Some(ids) = source
            .pointer("/identity/userAssignedIdentities")
            .and_then(Value::as_object)
        {
            let ids: Map<String, Value> = ids.keys().map(|k| (k.clone(), json!({}))).collect();
            body["identity"] = json!({"type": "UserAssigned", "userAssignedIdentities": ids});
        }
        inherited.push("data_encryption".into());
    }
    body["properties"] = Value::Object(props);
    let mut tags = source
        .get("tags")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    tags.insert(TAG_SOURCE.into(), json!(text(source, "/id")));
    tags.insert(TAG_POINT.into(), json!(point_tag));
    body["tags"] = Value::Object(tags);
    Body { value: body, inherited }
}

/// The network block: overrides, else the source's (a virtual network is
/// regional, so only a same-region restore inherits its subnet).
fn network(source: &Value, o: &Overrides, same_region: bool) -> Option<Value> {
    let mut n = Map::new();
    let subnet = o.subnet.clone().or_else(|| {
        same_region
            .then(|| text(source, "/properties/network/delegatedSubnetResourceId").to_owned())
            .filter(|s| !s.is_empty())
    });
    let dns = o.private_dns_zone.clone().or_else(|| {
        same_region
            .then(|| text(source, "/properties/network/privateDnsZoneArmResourceId").to_owned())
            .filter(|s| !s.is_empty())
    });
    if let Some(s) = subnet {
        n.insert("delegatedSubnetResourceId".into(), json!(s));
    }
    if let Some(d) = dns {
        n.insert("privateDnsZoneArmResourceId".into(), json!(d));
    }
    if text(source, "/properties/network/publicNetworkAccess").eq_ignore_ascii_case("disabled") {
        n.insert("publicNetworkAccess".into(), json!("Disabled"));
    }
    (!n.is_empty()).then_some(Value::Object(n))
}

/// Whether the source sits in a virtual network (its subnet cannot follow
/// a geo-restore into another region).
pub fn in_vnet(source: &Value) -> bool {
    !text(source, "/properties/network/delegatedSubnetResourceId").is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restores_inherit_network_ha_and_encryption() {
        let src = json!({"id": "/s/src", "location": "East US", "tags": {"app": "orders"},
            "identity": {"type": "UserAssigned", "userAssignedIdentities": {"/id/one": {"principalId": "p"}}},
            "properties": {"network": {"delegatedSubnetResourceId": "/subnet", "privateDnsZoneArmResourceId": "/dns", "publicNetworkAccess": "Disabled"},
                "highAvailability": {"mode": "ZoneRedundant", "state": "Healthy"},
                "dataEncryption": {"type": "AzureKeyVault", "primaryKeyURI": "https://k", "primaryEncryptionKeyStatus": "Valid"}}});
        let b = restore(
            "PointInTimeRestore",
            "eastus",
            &src,
            Some("2025-06-01T18:35:22.123456Z"),
            "latest",
            &Overrides::default(),
        );
        let v = &b.value;
        assert_eq!(v["properties"]["network"]["delegatedSubnetResourceId"], "/subnet");
        assert_eq!(v["properties"]["highAvailability"], json!({"mode": "ZoneRedundant"}));
        assert_eq!(
            v["properties"]["dataEncryption"],
            json!({"type": "AzureKeyVault", "primaryKeyURI": "https://k"})
        );
        assert_eq!(v["identity"]["userAssignedIdentities"], json!({"/id/one": {}}));
        assert_eq!(v["tags"]["app"], "orders");
        assert_eq!(v["tags"][TAG_SOURCE], "/s/src");
        assert_eq!(b.inherited, ["network", "high_availability", "data_encryption"]);
        // Another region: the subnet stays behind; HA can be turned off.
        let o = Overrides {
            ha: Some("Disabled".into()),
            ..Overrides::default()
        };
        let g = restore("GeoRestore", "westus", &src, Some("x"), "latest", &o);
        assert_eq!(
            g.value["properties"]["network"],
            json!({"publicNetworkAccess": "Disabled"})
        );
        assert!(g.value["properties"].get("highAvailability").is_none());
    }
}
