//! The request bodies `azure` sends, in the shapes of the official ARM
//! examples (the tests compare their property paths): the server create
//! and the PATCH that converges an existing server (only what differs),
//! firewall rules, parameters, the database and a replica. Also the
//! server's wanted shape ([`Want`]) they are built from.

use serde_json::{Map, Value, json};
use sw_core::{Error, Result};

use super::args::{ApplyArgs, Ha, OnOff, Tier, from_arm};
use super::firewall::Rule;
use super::server::{same, text};

/// The server's shape: each flag given, else (for an existing server) what
/// it has, else the create default. An existing server is changed only in
/// what the flags name.
pub struct Want {
    pub sku: String,
    pub tier: Tier,
    pub pg_version: String,
    pub storage_gb: u32,
    pub auto_grow: OnOff,
    pub ha: Ha,
    pub backup_retention_days: u16,
    pub geo_redundant_backup: OnOff,
}

impl Want {
    /// The shape `a` asks for of `server` (None: a server to create).
    pub fn resolve(a: &ApplyArgs, server: Option<&Value>) -> Want {
        let have = |ptr: &str| server.map(|s| text(s, ptr)).filter(|v| !v.is_empty());
        let number = |ptr: &str| server?.pointer(ptr)?.as_u64();
        Want {
            sku: a
                .sku
                .clone()
                .or_else(|| have("/sku/name").map(str::to_owned))
                .unwrap_or_else(|| "Standard_D2ds_v5".into()),
            tier: a
                .tier
                .or_else(|| from_arm(have("/sku/tier")?, Tier::arm))
                .unwrap_or(Tier::GeneralPurpose),
            pg_version: a
                .pg_version
                .clone()
                .or_else(|| have("/properties/version").map(str::to_owned))
                .unwrap_or_else(|| "17".into()),
            storage_gb: a
                .storage_gb
                .or_else(|| u32::try_from(number("/properties/storage/storageSizeGB")?).ok())
                .unwrap_or(128),
            auto_grow: a
                .auto_grow
                .or_else(|| from_arm(have("/properties/storage/autoGrow")?, OnOff::arm))
                .unwrap_or(OnOff::Enabled),
            ha: a
                .ha
                .or_else(|| from_arm(have("/properties/highAvailability/mode")?, Ha::arm))
                .unwrap_or(Ha::ZoneRedundant),
            backup_retention_days: a
                .backup_retention_days
                .or_else(|| u16::try_from(number("/properties/backup/backupRetentionDays")?).ok())
                .unwrap_or(35),
            geo_redundant_backup: a
                .geo_redundant_backup
                .or_else(|| from_arm(have("/properties/backup/geoRedundantBackup")?, OnOff::arm))
                .unwrap_or(OnOff::Enabled),
        }
    }
}

/// Secrets never printed, even in a dry run.
pub fn redacted(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(p) = b.pointer_mut("/properties/administratorLoginPassword") {
        *p = json!("<redacted>");
    }
    b
}

/// Whether a body carries the administrator password.
pub fn sends_password(body: &Value) -> bool {
    body.pointer("/properties/administratorLoginPassword").is_some()
}

/// The `highAvailability` object: the mode, and the standby's zone when
/// one is asked for and there is a standby.
fn ha_body(a: &ApplyArgs, w: &Want) -> Value {
    let mut ha = json!({"mode": w.ha.arm()});
    if let (Some(z), false) = (&a.standby_zone, w.ha == Ha::Disabled) {
        ha["standbyAvailabilityZone"] = json!(z);
    }
    ha
}

/// The PUT that creates the server. `password`: the administrator's
/// (None: Entra ID sign-in only, no password administrator);
/// `auth_config`: the `authConfig` asked for, if any.
pub fn create(a: &ApplyArgs, w: &Want, location: &str, password: Option<&str>, auth_config: Option<Value>) -> Value {
    let mut storage = json!({"storageSizeGB": w.storage_gb, "autoGrow": w.auto_grow.arm()});
    if let Some(t) = &a.storage_tier {
        storage["tier"] = json!(t);
    }
    let mut props = json!({
        "version": w.pg_version,
        "createMode": "Create",
        "storage": storage,
        "backup": {"backupRetentionDays": w.backup_retention_days, "geoRedundantBackup": w.geo_redundant_backup.arm()},
        "network": a.network.body(),
        "highAvailability": ha_body(a, w),
    });
    if let Some(pw) = password {
        props["administratorLogin"] = json!(a.admin_user);
        props["administratorLoginPassword"] = json!(pw);
    }
    if let Some(z) = &a.zone {
        props["availabilityZone"] = json!(z);
    }
    if let Some(c) = auth_config {
        props["authConfig"] = c;
    }
    let mut body = json!({
        "location": location,
        "sku": {"tier": w.tier.arm(), "name": w.sku},
        "properties": props,
    });
    if let Some((identity, encryption)) = a.cmk.create() {
        body["identity"] = identity;
        body["properties"]["dataEncryption"] = encryption;
    }
    if !a.tags.is_empty() {
        body["tags"] = Value::Object(a.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
    }
    body
}

/// The `properties.storage` changes (storage only grows).
fn storage_patch(a: &ApplyArgs, w: &Want, server: &Value) -> Result<Map<String, Value>> {
    let mut storage = Map::new();
    let have_gb = server
        .pointer("/properties/storage/storageSizeGB")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    if have_gb > u64::from(w.storage_gb) {
        return Err(Error::data(format!(
            "storage only grows: the server has {have_gb} GB, --storage-gb asks for {}",
            w.storage_gb
        )));
    }
    if have_gb < u64::from(w.storage_gb) {
        storage.insert("storageSizeGB".into(), json!(w.storage_gb));
    }
    if !same(text(server, "/properties/storage/autoGrow"), w.auto_grow.arm()) {
        storage.insert("autoGrow".into(), json!(w.auto_grow.arm()));
    }
    if let Some(t) = &a.storage_tier
        && !same(text(server, "/properties/storage/tier"), t)
    {
        storage.insert("tier".into(), json!(t));
    }
    Ok(storage)
}

/// The tags after merging `--tag` into the server's, when that changes them.
fn tags_patch(a: &ApplyArgs, server: &Value) -> Option<Value> {
    let have = server.get("tags").cloned().unwrap_or(json!({}));
    if a.tags
        .iter()
        .all(|(k, v)| have.get(k).and_then(Value::as_str) == Some(v))
    {
        return None;
    }
    let mut tags = have.as_object().cloned().unwrap_or_default();
    for (k, v) in &a.tags {
        tags.insert(k.clone(), json!(v));
    }
    Some(Value::Object(tags))
}

/// What else a PATCH carries: `authConfig`, and the data-encryption key
/// (with `identity` when an identity is new to the server).
#[derive(Debug, Default)]
pub struct Security {
    pub auth_config: Option<Value>,
    pub encryption: Option<(Option<Value>, Value)>,
}

/// The PATCH that brings `server` to what `a` asks for (empty: nothing).
/// The disruptive and create-time differences are `disruptive`'s.
///
/// # Errors
/// 65 when it asks for less storage than the server has.
pub fn update(
    a: &ApplyArgs,
    w: &Want,
    server: &Value,
    rotate: Option<&str>,
    security: Security,
) -> Result<Map<String, Value>> {
    let mut patch = Map::new();
    let mut props = Map::new();
    if !same(text(server, "/sku/name"), &w.sku) || !same(text(server, "/sku/tier"), w.tier.arm()) {
        patch.insert("sku".into(), json!({"name": w.sku, "tier": w.tier.arm()}));
    }
    let storage = storage_patch(a, w, server)?;
    if !storage.is_empty() {
        props.insert("storage".into(), Value::Object(storage));
    }
    let have_days = server
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_u64);
    if have_days != Some(u64::from(w.backup_retention_days)) {
        props.insert("backup".into(), json!({"backupRetentionDays": w.backup_retention_days}));
    }
    if !same(text(server, "/properties/highAvailability/mode"), w.ha.arm()) {
        props.insert("highAvailability".into(), ha_body(a, w));
    }
    if let Some(pw) = rotate {
        props.insert("administratorLoginPassword".into(), json!(pw));
    }
    if let Some(c) = security.auth_config {
        props.insert("authConfig".into(), c);
    }
    if let Some((identity, encryption)) = security.encryption {
        props.insert("dataEncryption".into(), encryption);
        if let Some(i) = identity {
            patch.insert("identity".into(), i);
        }
    }
    if let Some(tags) = tags_patch(a, server) {
        patch.insert("tags".into(), tags);
    }
    if !props.is_empty() {
        patch.insert("properties".into(), Value::Object(props));
    }
    Ok(patch)
}

/// The fields a PATCH changes, for people: `sku,properties.storage.autoGrow`
/// style, with `properties.` left out.
pub fn describe_patch(patch: &Map<String, Value>) -> String {
    let mut keys = Vec::new();
    for (k, v) in patch {
        match v.as_object() {
            Some(o) if k == "properties" => {
                for (pk, pv) in o {
                    match pv.as_object() {
                        Some(po) => keys.extend(po.keys().map(|x| format!("{pk}.{x}"))),
                        None => keys.push(pk.clone()),
                    }
                }
            }
            _ => keys.push(k.clone()),
        }
    }
    keys.join(",")
}

/// A firewall rule.
pub fn firewall_rule(r: &Rule) -> Value {
    json!({"properties": {"startIpAddress": r.start.to_string(), "endIpAddress": r.end.to_string()}})
}

/// A server parameter, set by us.
pub fn parameter(value: &str) -> Value {
    json!({"properties": {"value": value, "source": "user-override"}})
}

/// The application database.
pub fn database() -> Value {
    json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})
}

/// A read replica of `source_id` in `location`.
pub fn replica(location: &str, source_id: &str) -> Value {
    json!({
        "location": location,
        "properties": {"createMode": "Replica", "sourceServerResourceId": source_id},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_are_described_and_passwords_redacted() {
        let mut patch = Map::new();
        patch.insert("sku".into(), json!({"name": "x"}));
        patch.insert(
            "properties".into(),
            json!({"storage": {"autoGrow": "Enabled"}, "administratorLoginPassword": "pw"}),
        );
        let mut keys: Vec<String> = describe_patch(&patch).split(',').map(str::to_owned).collect();
        keys.sort();
        assert_eq!(keys, ["administratorLoginPassword", "sku", "storage.autoGrow"]);
        let body = Value::Object(patch);
        assert!(sends_password(&body));
        assert_eq!(
            redacted(&body)["properties"]["administratorLoginPassword"],
            "<redacted>"
        );
    }
}
