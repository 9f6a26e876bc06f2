//! Create or converge one Flexible Server: read everything first, plan the
//! writes that differ, then send them one at a time under a per-server
//! lock (the service requires serialised writes per server).

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use sw_core::azure::ArmClient;
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::output::Output;
use sw_core::{Error, Result};

use super::firewall::{self, Rule};
use super::{API_VERSION, Target, caps, cost, is_busy, reattach, summary};

/// Pricing tier (ARM `sku.tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tier {
    Burstable,
    GeneralPurpose,
    MemoryOptimized,
}

impl Tier {
    fn arm(self) -> &'static str {
        match self {
            Tier::Burstable => "Burstable",
            Tier::GeneralPurpose => "GeneralPurpose",
            Tier::MemoryOptimized => "MemoryOptimized",
        }
    }
}

/// High-availability mode (ARM `highAvailability.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Ha {
    Disabled,
    ZoneRedundant,
    SameZone,
}

impl Ha {
    fn arm(self) -> &'static str {
        match self {
            Ha::Disabled => "Disabled",
            Ha::ZoneRedundant => "ZoneRedundant",
            Ha::SameZone => "SameZone",
        }
    }
}

/// Enabled / Disabled switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    Enabled,
    Disabled,
}

impl OnOff {
    fn arm(self) -> &'static str {
        match self {
            OnOff::Enabled => "Enabled",
            OnOff::Disabled => "Disabled",
        }
    }
}

fn parse_kv(s: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let k = k.trim();
    if k.is_empty() || k.len() > 256 || !k.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("invalid name {k:?}"));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

fn parse_allow_ip(s: &str) -> std::result::Result<String, String> {
    if s == "auto" {
        return Ok(s.to_owned());
    }
    firewall::cidr_range(s).map(|_| s.to_owned())
}

fn parse_db_name(s: &str) -> std::result::Result<String, String> {
    let mut chars = s.chars();
    let ok = s.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!("invalid database name {s:?}"))
    }
}

/// Flags of `sw-provision azure` (create or converge).
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Region (required to create; an existing server keeps its own).
    #[arg(long, value_name = "REGION", value_parser = super::parse_region)]
    pub location: Option<String>,
    /// Compute SKU name (ARM sku.name), e.g. Standard_D2ds_v5, Standard_B1ms [create default: Standard_D2ds_v5].
    ///
    /// This and the other shape flags below change an existing server only
    /// when given; left out, the server keeps what it has.
    #[arg(long, value_name = "NAME")]
    pub sku: Option<String>,
    /// Pricing tier (ARM sku.tier), separate from the SKU name [create default: general-purpose].
    #[arg(long, value_enum)]
    pub tier: Option<Tier>,
    /// PostgreSQL major version [create default: 17].
    #[arg(long, value_name = "N")]
    pub pg_version: Option<String>,
    /// Storage size in GB (one of the sizes the region offers; storage only grows) [create default: 128].
    #[arg(long, value_name = "GB")]
    pub storage_gb: Option<u32>,
    /// Storage auto-grow [create default: enabled].
    #[arg(long, value_enum)]
    pub auto_grow: Option<OnOff>,
    /// Storage performance tier (P4...P80; default: the size's own).
    #[arg(long, value_name = "TIER")]
    pub storage_tier: Option<String>,
    /// High availability [create default: zone-redundant].
    #[arg(long, value_enum)]
    pub ha: Option<Ha>,
    /// Availability zone of the primary (create only).
    #[arg(long, value_name = "ZONE")]
    pub zone: Option<String>,
    /// Availability zone of the HA standby.
    #[arg(long, value_name = "ZONE")]
    pub standby_zone: Option<String>,
    /// Backup retention in days (7-35) [create default: 35].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u16).range(7..=35))]
    pub backup_retention_days: Option<u16>,
    /// Geo-redundant backup (create only) [create default: enabled].
    #[arg(long, value_enum)]
    pub geo_redundant_backup: Option<OnOff>,
    /// Allow connections from this IPv4 CIDR, or `auto` for this host's public address (repeatable).
    #[arg(long = "allow-ip", value_name = "CIDR|auto", value_parser = parse_allow_ip)]
    pub allow_ip: Vec<String>,
    /// Where `--allow-ip auto` asks for this host's public address (plain-text answer).
    #[arg(long, value_name = "URL", default_value = "https://api.ipify.org")]
    pub my_ip_url: String,
    /// Also allow every Azure service (a 0.0.0.0 rule: admits ANY Azure tenant's addresses, not only yours).
    #[arg(long)]
    pub allow_azure_services: bool,
    /// Set a server parameter (value + source user-override; repeatable).
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_kv)]
    pub params: Vec<(String, String)>,
    /// Restart the server when a changed parameter needs it (default: report restart_pending).
    #[arg(long)]
    pub restart: bool,
    /// The application database [default: the env file's, else app].
    #[arg(long, value_name = "NAME", value_parser = parse_db_name)]
    pub database: Option<String>,
    /// Administrator login (create only).
    #[arg(long, value_name = "NAME", default_value = "swadmin")]
    pub admin_user: String,
    /// Env file for the connection strings (default: NAME.env).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Resource tag (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
    /// Set a new administrator password (default: keep the one in the env file).
    #[arg(long)]
    pub rotate_password: bool,
    /// Print the requests that would be sent and a monthly cost estimate; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The server's shape: each flag given, else (for an existing server) what
/// it has, else the create default. An existing server is changed only in
/// what the flags name.
struct Want {
    sku: String,
    tier: Tier,
    pg_version: String,
    storage_gb: u32,
    auto_grow: OnOff,
    ha: Ha,
    backup_retention_days: u16,
    geo_redundant_backup: OnOff,
}

fn from_arm<T: ValueEnum + Copy>(s: &str, arm: fn(T) -> &'static str) -> Option<T> {
    T::value_variants().iter().copied().find(|v| same(arm(*v), s))
}

impl Want {
    fn resolve(a: &ApplyArgs, server: Option<&Value>) -> Want {
        let have = |ptr: &str| server.map(|s| text(s, ptr)).filter(|v| !v.is_empty());
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
                .or_else(|| {
                    let gb = server?.pointer("/properties/storage/storageSizeGB")?.as_u64()?;
                    u32::try_from(gb).ok()
                })
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
                .or_else(|| {
                    let d = server?.pointer("/properties/backup/backupRetentionDays")?.as_u64()?;
                    u16::try_from(d).ok()
                })
                .unwrap_or(35),
            geo_redundant_backup: a
                .geo_redundant_backup
                .or_else(|| from_arm(have("/properties/backup/geoRedundantBackup")?, OnOff::arm))
                .unwrap_or(OnOff::Enabled),
        }
    }
}

/// A write to send.
struct Step {
    method: &'static str,
    path: String,
    body: Option<Value>,
    action: &'static str,
    detail: String,
}

/// Secrets never printed, even in a dry run.
fn redacted(body: &Value) -> Value {
    let mut b = body.clone();
    if let Some(p) = b.pointer_mut("/properties/administratorLoginPassword") {
        *p = json!("<redacted>");
    }
    b
}

fn text<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
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

fn create_body(a: &ApplyArgs, w: &Want, location: &str, password: &str) -> Value {
    let mut storage = json!({"storageSizeGB": w.storage_gb, "autoGrow": w.auto_grow.arm()});
    if let Some(t) = &a.storage_tier {
        storage["tier"] = json!(t);
    }
    let mut props = json!({
        "administratorLogin": a.admin_user,
        "administratorLoginPassword": password,
        "version": w.pg_version,
        "createMode": "Create",
        "storage": storage,
        "backup": {"backupRetentionDays": w.backup_retention_days, "geoRedundantBackup": w.geo_redundant_backup.arm()},
        "network": {"publicNetworkAccess": "Enabled"},
        "highAvailability": ha_body(a, w),
    });
    if let Some(z) = &a.zone {
        props["availabilityZone"] = json!(z);
    }
    let mut body = json!({
        "location": location,
        "sku": {"tier": w.tier.arm(), "name": w.sku},
        "properties": props,
    });
    if !a.tags.is_empty() {
        body["tags"] = Value::Object(a.tags.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
    }
    body
}

/// The PATCH that brings `server` to what `a` asks for (empty: nothing).
fn update_body(
    a: &ApplyArgs,
    w: &Want,
    server: &Value,
    rotate: Option<&str>,
    warnings: &mut Vec<String>,
) -> Result<Map<String, Value>> {
    let mut patch = Map::new();
    let mut props = Map::new();
    if !same(text(server, "/sku/name"), &w.sku) || !same(text(server, "/sku/tier"), w.tier.arm()) {
        patch.insert("sku".into(), json!({"name": w.sku, "tier": w.tier.arm()}));
    }
    let have_gb = server
        .pointer("/properties/storage/storageSizeGB")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let mut storage = Map::new();
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
    if !storage.is_empty() {
        props.insert("storage".into(), Value::Object(storage));
    }
    let have_days = server
        .pointer("/properties/backup/backupRetentionDays")
        .and_then(Value::as_u64);
    if have_days != Some(u64::from(w.backup_retention_days)) {
        props.insert("backup".into(), json!({"backupRetentionDays": w.backup_retention_days}));
    }
    if !same(
        text(server, "/properties/backup/geoRedundantBackup"),
        w.geo_redundant_backup.arm(),
    ) {
        warnings.push(format!(
            "geo-redundant backup is {} and can only be chosen at create time",
            text(server, "/properties/backup/geoRedundantBackup")
        ));
    }
    if !same(text(server, "/properties/version"), &w.pg_version) {
        warnings.push(format!(
            "the server runs PostgreSQL {}; sw-provision does not do major-version upgrades",
            text(server, "/properties/version")
        ));
    }
    let have_ha = text(server, "/properties/highAvailability/mode");
    if !same(have_ha, w.ha.arm()) {
        props.insert("highAvailability".into(), ha_body(a, w));
    } else {
        zone_drift(a, w, server, warnings);
    }
    if let Some(pw) = rotate {
        props.insert("administratorLoginPassword".into(), json!(pw));
    }
    let have_tags = server.get("tags").cloned().unwrap_or(json!({}));
    if a.tags
        .iter()
        .any(|(k, v)| have_tags.get(k).and_then(Value::as_str) != Some(v))
    {
        let mut tags = have_tags.as_object().cloned().unwrap_or_default();
        for (k, v) in &a.tags {
            tags.insert(k.clone(), json!(v));
        }
        patch.insert("tags".into(), Value::Object(tags));
    }
    if !props.is_empty() {
        patch.insert("properties".into(), Value::Object(props));
    }
    Ok(patch)
}

/// Zones are create-time choices, and a failover swaps primary and standby
/// zones: a swapped pair is the same deployment, not drift.
fn zone_drift(a: &ApplyArgs, w: &Want, server: &Value, warnings: &mut Vec<String>) {
    let have = (
        text(server, "/properties/availabilityZone"),
        text(server, "/properties/highAvailability/standbyAvailabilityZone"),
    );
    let want = (a.zone.as_deref(), a.standby_zone.as_deref());
    let matches = |w: Option<&str>, h: &str| w.is_none_or(|w| w == h);
    let straight = matches(want.0, have.0) && matches(want.1, have.1);
    let swapped = w.ha != Ha::Disabled && matches(want.0, have.1) && matches(want.1, have.0);
    if !straight && !swapped {
        warnings.push(format!(
            "zones are {}/{} (primary/standby), not as asked; zones are chosen at create time",
            have.0, have.1
        ));
    }
}

/// Run `sw-provision azure`.
pub fn run(t: &Target, a: &ApplyArgs, pretty: bool) -> Result<()> {
    let c = t.client()?;
    let env_file = a
        .env_file
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}.env", t.name)));
    let mut env = EnvFile::read_or_default(&env_file)?;
    // An earlier run saved a password and stopped before Azure confirmed it.
    let pending = env.get(PENDING_KEY).map(str::to_owned);
    let mut warnings = Vec::new();
    let mut steps = Vec::new();

    let server = c.get_opt(&t.path(""))?;
    // The administrator is the server's own (set at create time); the
    // database the env file's unless named.
    let admin = server
        .as_ref()
        .map(|s| text(s, "/properties/administratorLogin"))
        .filter(|u| !u.is_empty())
        .unwrap_or(&a.admin_user)
        .to_owned();
    let known_pw = crate::local::password_in(&env, &admin);
    let database = match &a.database {
        Some(d) => d.clone(),
        None => env
            .get("DATABASE_URL")
            .and_then(|u| sw_core::conninfo::parse(u).ok())
            .and_then(|p| p.get("dbname").cloned())
            .filter(|d| parse_db_name(d).is_ok())
            .unwrap_or_else(|| "app".into()),
    };
    let location = match (&server, &a.location) {
        (Some(s), _) => super::region(text(s, "/location")),
        (None, Some(l)) => l.clone(),
        (None, None) => {
            return Err(Error::usage(format!(
                "server {} does not exist; pass --location to create it",
                t.name
            )));
        }
    };
    if a.location
        .as_deref()
        .is_some_and(|l| !same(l, &location) && !same(&l.replace(' ', ""), &location.replace(' ', "")))
    {
        warnings.push(format!("the server is in {location}; a server cannot move regions"));
    }
    let w = Want::resolve(a, server.as_ref());
    let caps_path = format!(
        "/subscriptions/{}/providers/Microsoft.DBforPostgreSQL/locations/{}/capabilities?api-version={API_VERSION}",
        t.subscription(),
        location
    );
    let caps_body = c.get(&caps_path)?;
    let vcores = caps::check(
        &location,
        &caps_body,
        &caps::Wanted {
            tier: w.tier.arm(),
            sku: &w.sku,
            version: server
                .as_ref()
                .map_or(w.pg_version.as_str(), |s| text(s, "/properties/version")),
            storage_gb: w.storage_gb,
            ha_mode: w.ha.arm(),
            zone: if server.is_none() { a.zone.as_deref() } else { None },
            standby_zone: a.standby_zone.as_deref(),
            geo_backup: server.is_none() && w.geo_redundant_backup == OnOff::Enabled,
            auto_grow: w.auto_grow == OnOff::Enabled,
        },
    )?;
    let vcores = if vcores == 0 {
        cost::vcores_from_sku(&w.sku)
    } else {
        vcores
    };

    // The password: kept from the env file unless rotating or unknown.
    let new_pw = |dry: bool| -> Result<String> {
        if dry {
            Ok("<generated>".into())
        } else {
            sw_core::secret::generate_password()
        }
    };
    let mut password = known_pw.clone();
    let mut reattached = false;
    let server = match server {
        None => {
            let pw = match (&password, a.rotate_password) {
                (Some(p), false) => p.clone(),
                _ => new_pw(a.dry_run)?,
            };
            password = Some(pw.clone());
            steps.push(Step {
                method: "PUT",
                path: t.path(""),
                body: Some(create_body(a, &w, &location, &pw)),
                action: "create_server",
                detail: format!(
                    "{} {} {} in {location}, PostgreSQL {}",
                    t.name,
                    w.tier.arm(),
                    w.sku,
                    w.pg_version
                ),
            });
            None
        }
        Some(s) => {
            let s = if is_busy(text(&s, "/properties/state")) {
                reattached = true;
                if a.dry_run { s } else { reattach(&c, t, s)? }
            } else {
                s
            };
            // The server exists, so the create that carried the saved password went through.
            let finished_create = pending.as_deref() == Some("create");
            let rotate = if a.rotate_password || password.is_none() {
                let pw = new_pw(a.dry_run)?;
                password = Some(pw.clone());
                Some(pw)
            } else if pending.is_some() && !finished_create {
                // Not known to have reached the server: send it (again).
                password.clone()
            } else {
                None
            };
            let patch = update_body(a, &w, &s, rotate.as_deref(), &mut warnings)?;
            if !patch.is_empty() {
                let keys = describe_patch(&patch);
                steps.push(Step {
                    method: "PATCH",
                    path: t.path(""),
                    body: Some(Value::Object(patch)),
                    action: "update_server",
                    detail: keys,
                });
            }
            Some(s)
        }
    };
    plan_firewall(a, &c, t, server.is_some(), &mut steps, &mut warnings)?;
    let mut restart_needed = plan_params(a, &c, t, server.is_some(), &mut steps)?;
    if server.is_none() || c.get_opt(&t.path(&format!("/databases/{database}")))?.is_none() {
        steps.push(Step {
            method: "PUT",
            path: t.path(&format!("/databases/{database}")),
            body: Some(json!({"properties": {"charset": "UTF8", "collation": "en_US.utf8"}})),
            action: "create_database",
            detail: database.clone(),
        });
    }
    if restart_needed && a.restart {
        steps.push(restart_step(t));
        restart_needed = false;
    }

    let mut out = Output::stdout(pretty);
    let mut changes: Vec<Value> = Vec::new();
    if reattached {
        changes.push(json!({"action": "reattach", "detail": "an earlier operation on the server was still running"}));
    }
    let mut final_server = server.clone().unwrap_or(Value::Null);
    if a.dry_run {
        for s in &steps {
            let mut r = json!({"method": s.method, "url": c.url(&s.path)});
            if let Some(b) = &s.body {
                r["body"] = redacted(b);
            }
            out.record("azure.request", &r)?;
            changes.push(json!({"action": s.action, "detail": s.detail}));
        }
    } else if !steps.is_empty() {
        let _lock = c.write_lock(&t.server_id(), &Env::process())?;
        // A password about to be sent is saved first (marked unconfirmed), so
        // an interrupted or failed run never leaves one that no file knows.
        let sends_pw = steps.iter().find_map(|s| {
            let b = s.body.as_ref()?;
            b.pointer("/properties/administratorLoginPassword")?;
            Some(if s.method == "PUT" { "create" } else { "update" })
        });
        if let Some(kind) = sends_pw {
            let guess = server.clone().unwrap_or(Value::Null);
            write_env(
                t,
                a,
                &database,
                &env_file,
                &mut env,
                &guess,
                password.as_deref(),
                Some(kind),
            )?;
        }
        for s in &steps {
            let res = c.mutate(s.method, &s.path, s.body.as_ref())?;
            changes.push(json!({"action": s.action, "detail": s.detail}));
            if s.action == "set_parameter"
                && res.pointer("/properties/isDynamicConfig") == Some(&json!(false))
                && server.is_none()
            {
                restart_needed = true;
            }
        }
        if restart_needed && a.restart {
            let s = restart_step(t);
            c.mutate(s.method, &s.path, None)?;
            changes.push(json!({"action": s.action, "detail": s.detail}));
            restart_needed = false;
        }
        final_server = c.get(&t.path(""))?;
    }
    if restart_needed {
        warnings.push("a changed parameter takes effect only after a restart; run again with --restart".into());
    }
    let env_changed = if a.dry_run {
        false
    } else {
        write_env(
            t,
            a,
            &database,
            &env_file,
            &mut env,
            &final_server,
            password.as_deref(),
            None,
        )?
    };
    if env_changed {
        changes.push(json!({"action": "write_env_file", "detail": env_file.display().to_string()}));
    }
    for w in &warnings {
        log::warn!("{w}");
    }
    let est = cost::estimate(
        w.tier.arm(),
        vcores,
        w.storage_gb,
        w.ha != Ha::Disabled,
        w.geo_redundant_backup == OnOff::Enabled,
    );
    let mut rec = json!({
        "dry_run": a.dry_run,
        "changed": !changes.is_empty(),
        "id": t.server_id(),
        "changes": changes,
        "warnings": warnings,
        "restart_pending": restart_needed,
        "env_file": env_file,
        "cost_estimate": est,
    });
    if !final_server.is_null()
        && let (Some(o), Some(sum)) = (rec.as_object_mut(), summary(&final_server).as_object())
    {
        for (k, v) in sum {
            o.entry(k.clone()).or_insert(v.clone());
        }
    }
    out.record("provision.azure", &rec)
}

fn restart_step(t: &Target) -> Step {
    Step {
        method: "POST",
        path: t.path("/restart"),
        body: None,
        action: "restart",
        detail: "for parameters that need a restart".into(),
    }
}

fn describe_patch(patch: &Map<String, Value>) -> String {
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

fn plan_firewall(
    a: &ApplyArgs,
    c: &ArmClient,
    t: &Target,
    exists: bool,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let mut want: Vec<Rule> = Vec::new();
    for spec in &a.allow_ip {
        let (start, end) = if spec == "auto" {
            let ip = firewall::detect_public_ip(&a.my_ip_url)?;
            (ip, ip)
        } else {
            firewall::cidr_range(spec).map_err(Error::usage)?
        };
        let r = firewall::rule_for(start, end);
        if !want.contains(&r) {
            want.push(r);
        }
    }
    if a.allow_azure_services {
        warnings.push(
            "--allow-azure-services admits connections from every Azure tenant's addresses, not only yours".into(),
        );
        let any = std::net::Ipv4Addr::UNSPECIFIED;
        want.push(Rule {
            name: firewall::AZURE_SERVICES.into(),
            start: any,
            end: any,
        });
    }
    if want.is_empty() {
        if exists {
            // Nothing asked: the rules stay as they are (a run to change
            // something else must not lock every client out).
            return Ok(());
        }
        warnings.push("no --allow-ip: the firewall admits no client addresses".into());
    }
    let have = if exists {
        c.list(&t.path("/firewallRules"))?
    } else {
        Vec::new()
    };
    let (create, delete) = firewall::diff(&want, &have);
    for r in create {
        steps.push(Step {
            method: "PUT",
            path: t.path(&format!("/firewallRules/{}", r.name)),
            body: Some(
                json!({"properties": {"startIpAddress": r.start.to_string(), "endIpAddress": r.end.to_string()}}),
            ),
            action: "allow_ip",
            detail: format!("{}-{}", r.start, r.end),
        });
    }
    for name in delete {
        steps.push(Step {
            method: "DELETE",
            path: t.path(&format!("/firewallRules/{name}")),
            body: None,
            action: "remove_firewall_rule",
            detail: name,
        });
    }
    Ok(())
}

/// Plan parameter changes; true when one already known needs a restart.
fn plan_params(a: &ApplyArgs, c: &ArmClient, t: &Target, exists: bool, steps: &mut Vec<Step>) -> Result<bool> {
    let mut restart = false;
    for (k, v) in &a.params {
        let path = t.path(&format!("/configurations/{k}"));
        if exists {
            let cur = c
                .get_opt(&path)?
                .ok_or_else(|| Error::data(format!("server parameter {k:?} does not exist")))?;
            let pending = cur.pointer("/properties/isConfigPendingRestart") == Some(&json!(true));
            // Enumerations and booleans come back in the server's spelling
            // (`ON` is stored as `on`): compare those without case.
            let enumerated = text(&cur, "/properties/allowedValues").contains(',')
                || ["boolean", "enumeration"]
                    .iter()
                    .any(|t| same(text(&cur, "/properties/dataType"), t));
            let have = text(&cur, "/properties/value");
            if have == v.as_str() || (enumerated && same(have, v)) {
                restart |= pending;
                continue;
            }
            if let Some(allowed) = cur.pointer("/properties/allowedValues").and_then(Value::as_str)
                && allowed.contains(',')
                && !allowed.split(',').any(|x| x.trim().eq_ignore_ascii_case(v))
            {
                return Err(Error::data(format!("{k}={v}: allowed values are {allowed}")));
            }
            restart |= cur.pointer("/properties/isDynamicConfig") == Some(&json!(false));
        }
        steps.push(Step {
            method: "PATCH",
            path,
            body: Some(json!({"properties": {"value": v, "source": "user-override"}})),
            action: "set_parameter",
            detail: format!("{k}={v}"),
        });
    }
    Ok(restart)
}

/// Env-file key marking a password saved before Azure confirmed it
/// (`create` or `update`); removed once the run succeeds.
pub const PENDING_KEY: &str = "SW_PROVISION_PASSWORD_UNCONFIRMED";

#[allow(clippy::too_many_arguments)]
fn write_env(
    t: &Target,
    a: &ApplyArgs,
    database: &str,
    path: &std::path::Path,
    env: &mut EnvFile,
    server: &Value,
    password: Option<&str>,
    pending: Option<&str>,
) -> Result<bool> {
    let Some(pw) = password else { return Ok(false) };
    let fqdn = match text(server, "/properties/fullyQualifiedDomainName") {
        "" => format!("{}.postgres.database.azure.com", t.name),
        f => f.to_owned(),
    };
    let user = match text(server, "/properties/administratorLogin") {
        "" => a.admin_user.as_str(),
        u => u,
    };
    // Azure's server certificates chain to public roots: verify-full against
    // the system's CA bundle, named as a file (libpq before 16, and drivers
    // such as node-postgres, read sslrootcert as a path and know no
    // `system`); JDBC uses the Java trust store.
    let roots = system_ca_bundle();
    let mut vars = crate::local::connection_vars(&fqdn, 5432, database, user, pw, &roots);
    if let Some(jdbc) = vars.iter_mut().find(|(k, _)| k == "DATABASE_URL_JDBC") {
        jdbc.1 = crate::local::jdbc_url(&fqdn, 5432, database, user, pw, "system");
    }
    // The replica's read-only URL (from `azure replica`) follows the password.
    if let Some(ro) = crate::local::readonly_url(env, user, pw) {
        vars.push(("DATABASE_URL_READONLY".into(), ro));
    }
    if vars.iter().all(|(k, v)| env.get(k) == Some(v.as_str())) && env.get(PENDING_KEY) == pending {
        return Ok(false);
    }
    for (k, v) in &vars {
        env.set(k, v);
    }
    match pending {
        Some(p) => env.set(PENDING_KEY, p),
        None => env.remove(PENDING_KEY),
    }
    env.write(path)?;
    Ok(true)
}

/// The system's CA bundle file (Debian/Ubuntu, RHEL, Alpine/BSD), else
/// libpq's `system` (which libpq >= 16 resolves itself).
fn system_ca_bundle() -> String {
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/cert.pem",
    ]
    .iter()
    .find(|p| std::path::Path::new(p).is_file())
    .map_or_else(|| "system".to_owned(), |p| (*p).to_owned())
}
