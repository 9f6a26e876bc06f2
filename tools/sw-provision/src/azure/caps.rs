//! Check a server's shape against the location capabilities API before
//! sending it: tier, SKU, version, storage size, HA mode and zones, geo
//! backup, auto-grow. Azure would reject most of these only asynchronously,
//! minutes into the operation (fixtures README §11); here they are one line
//! and exit 65 before any write.

use serde_json::Value;
use sw_core::{Error, Result};

/// What is being asked for.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub tier: &'a str,
    pub sku: &'a str,
    pub version: &'a str,
    pub storage_gb: u32,
    pub ha_mode: &'a str,
    pub zone: Option<&'a str>,
    pub standby_zone: Option<&'a str>,
    pub geo_backup: bool,
    pub auto_grow: bool,
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

fn name(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or("")
}

fn enabled(caps: &Value, flag: &str, feature: &str) -> bool {
    if let Some(s) = caps.get(flag).and_then(Value::as_str) {
        return s.eq_ignore_ascii_case("Enabled");
    }
    arr(caps, "supportedFeatures")
        .iter()
        .any(|f| name(f) == feature && f.get("status").and_then(Value::as_str) == Some("Enabled"))
}

fn list(vals: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = vals.collect();
    if v.is_empty() { "none".into() } else { v.join(", ") }
}

/// Check `w` against a capabilities list response (`{"value":[...]}`); the
/// vCores of the SKU on success.
///
/// # Errors
/// 65 naming the field and the values the location offers.
pub fn check(location: &str, body: &Value, w: &Wanted<'_>) -> Result<u32> {
    let caps = arr(body, "value")
        .first()
        .ok_or_else(|| Error::data(format!("location {location} reports no PostgreSQL capabilities")))?;
    let editions = arr(caps, "supportedServerEditions");
    let ed = editions
        .iter()
        .find(|e| name(e).eq_ignore_ascii_case(w.tier))
        .ok_or_else(|| {
            Error::data(format!(
                "tier {} is not offered in {location} (offered: {})",
                w.tier,
                list(editions.iter().map(|e| name(e).to_owned()))
            ))
        })?;
    let skus = arr(ed, "supportedServerSkus");
    let sku = skus
        .iter()
        .find(|s| name(s).eq_ignore_ascii_case(w.sku))
        .ok_or_else(|| {
            Error::data(format!(
                "SKU {} is not offered in tier {} in {location} (offered: {})",
                w.sku,
                w.tier,
                list(skus.iter().map(|s| name(s).to_owned()))
            ))
        })?;
    let versions = arr(caps, "supportedServerVersions");
    if !versions.iter().any(|v| name(v) == w.version) {
        return Err(Error::data(format!(
            "PostgreSQL version {} is not offered in {location} (offered: {})",
            w.version,
            list(versions.iter().map(|v| name(v).to_owned()))
        )));
    }
    let mb = u64::from(w.storage_gb) * 1024;
    let sizes: Vec<u64> = arr(ed, "supportedStorageEditions")
        .iter()
        .flat_map(|s| arr(s, "supportedStorageMb"))
        .filter_map(|m| m.get("storageSizeMb").and_then(Value::as_u64))
        .collect();
    if !sizes.is_empty() && !sizes.contains(&mb) {
        return Err(Error::data(format!(
            "storage of {} GB is not offered for tier {} (offered, GB: {})",
            w.storage_gb,
            w.tier,
            list(sizes.iter().map(|m| (m / 1024).to_string()))
        )));
    }
    if !w.ha_mode.eq_ignore_ascii_case("Disabled") {
        let modes = arr(sku, "supportedHaMode");
        if !modes
            .iter()
            .any(|m| m.as_str().is_some_and(|m| m.eq_ignore_ascii_case(w.ha_mode)))
        {
            return Err(Error::data(format!(
                "high availability {} is not offered for {} in {location} (offered: {})",
                w.ha_mode,
                w.sku,
                list(modes.iter().filter_map(Value::as_str).map(str::to_owned))
            )));
        }
    }
    let zones: Vec<&str> = arr(sku, "supportedZones").iter().filter_map(Value::as_str).collect();
    for z in [w.zone, w.standby_zone].into_iter().flatten() {
        if !zones.contains(&z) {
            return Err(Error::data(format!(
                "zone {z} is not offered for {} in {location} (offered: {})",
                w.sku,
                list(zones.iter().map(|z| (*z).to_owned()))
            )));
        }
    }
    if w.geo_backup && !enabled(caps, "geoBackupSupported", "GeoBackup") {
        return Err(Error::data(format!(
            "geo-redundant backup is not offered in {location}"
        )));
    }
    if w.geo_backup
        && w.ha_mode.eq_ignore_ascii_case("ZoneRedundant")
        && !enabled(
            caps,
            "zoneRedundantHaAndGeoBackupSupported",
            "ZoneRedundantHaAndGeoBackup",
        )
    {
        return Err(Error::data(format!(
            "zone-redundant HA together with geo-redundant backup is not offered in {location}"
        )));
    }
    if w.auto_grow && !enabled(caps, "storageAutoGrowthSupported", "StorageAutoGrowth") {
        return Err(Error::data(format!("storage auto-grow is not offered in {location}")));
    }
    Ok(sku
        .get("vCores")
        .and_then(Value::as_u64)
        .and_then(|v| u32::try_from(v).ok())
        .unwrap_or(0))
}
