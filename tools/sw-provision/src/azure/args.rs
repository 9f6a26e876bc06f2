//! The flags of `azure` (create or converge) and its subcommands, the
//! value enums with their ARM spellings, and the parsers that refuse a bad
//! value before any request (exit 64).

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::cmk::CmkArgs;
use super::entra::EntraArgs;
use super::firewall;
use super::network::NetworkArgs;
use super::roles::RoleArgs;
use super::target::{Target, parse_region};

/// `sw-provision azure ...`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct AzureCmd {
    #[command(subcommand)]
    pub sub: Option<AzureSub>,
    #[command(flatten)]
    pub target: Option<Target>,
    #[command(flatten)]
    pub apply: ApplyArgs,
}

/// Azure subcommands (without one: create or converge the server).
#[derive(Subcommand, Debug)]
pub enum AzureSub {
    /// Create or converge a read replica (createMode Replica; another region allowed).
    Replica(ReplicaArgs),
    /// Print the server's state.
    Status(StatusArgs),
    /// Delete the server (needs --yes).
    Delete(DeleteArgs),
}

/// Flags of `azure replica`.
#[derive(Args, Debug)]
pub struct ReplicaArgs {
    #[command(flatten)]
    pub target: Target,
    /// The primary: a server name in the same resource group, or a full ARM id.
    #[arg(long, value_name = "NAME|ID")]
    pub of: String,
    /// Region of the replica (default: the primary's).
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
    pub location: Option<String>,
    /// Env file holding the primary's DATABASE_URL; gains DATABASE_URL_READONLY.
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Print the requests; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Flags of `azure status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
}

/// Flags of `azure delete`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub target: Target,
    /// Really delete the server and its backups.
    #[arg(long)]
    pub yes: bool,
}

/// Pricing tier (ARM `sku.tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Tier {
    Burstable,
    GeneralPurpose,
    MemoryOptimized,
}

impl Tier {
    /// The ARM spelling.
    pub fn arm(self) -> &'static str {
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
    /// The ARM spelling.
    pub fn arm(self) -> &'static str {
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
    /// The ARM spelling.
    pub fn arm(self) -> &'static str {
        match self {
            OnOff::Enabled => "Enabled",
            OnOff::Disabled => "Disabled",
        }
    }
}

/// The variant of `T` whose ARM spelling is `s` (any case).
pub fn from_arm<T: ValueEnum + Copy>(s: &str, arm: fn(T) -> &'static str) -> Option<T> {
    T::value_variants()
        .iter()
        .copied()
        .find(|v| arm(*v).eq_ignore_ascii_case(s))
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=VALUE, got {s:?}"))?;
    let k = k.trim();
    if k.is_empty() || k.len() > 256 || !k.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(format!("invalid name {k:?}"));
    }
    Ok((k.to_owned(), v.trim().to_owned()))
}

fn parse_allow_ip(s: &str) -> Result<String, String> {
    if s == "auto" {
        return Ok(s.to_owned());
    }
    firewall::cidr_range(s).map(|_| s.to_owned())
}

/// A database name Azure accepts (letters, digits, `_` and `-`; not
/// starting with a digit or `-`; at most 63 bytes).
pub fn parse_db_name(s: &str) -> Result<String, String> {
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
    #[arg(long, value_name = "REGION", value_parser = parse_region)]
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
    /// Azure's built-in PgBouncer: pgbouncer turns it on (port 6432, transaction pooling, its
    /// metrics for sw-health) and adds DATABASE_URL_POOLED to the env files; none turns it off.
    #[arg(long, value_enum)]
    pub pooler: Option<crate::local::PoolerKind>,
    /// Server connections per database and role of the built-in PgBouncer (pgbouncer.default_pool_size).
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub pool_size: u32,
    /// Most clients the built-in PgBouncer admits at once (pgbouncer.max_client_conn).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=50_000))]
    pub max_client_conn: u32,
    /// Give up on a client waiting this long for a server connection (pgbouncer.query_wait_timeout).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = sw_core::duration::parse)]
    pub query_wait_timeout: std::time::Duration,
    /// Restart the server when a changed parameter needs it (default: report restart_pending).
    #[arg(long)]
    pub restart: bool,
    /// The application database [default: the env file's, else app].
    #[arg(long, value_name = "NAME", value_parser = parse_db_name)]
    pub database: Option<String>,
    /// Administrator login (create only).
    #[arg(long, value_name = "NAME", default_value = "swadmin")]
    pub admin_user: String,
    /// Env file for the application role's connection strings, 0600 (default: NAME.env).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Resource tag (repeatable).
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_kv)]
    pub tags: Vec<(String, String)>,
    /// Give the application role a new password (default: keep the one in the env file), as `local` does.
    #[arg(long)]
    pub rotate_password: bool,
    /// Apply the changes that take the server offline or cannot be undone: a major version
    /// upgrade (after an on-demand backup), moving the HA standby to another zone.
    #[arg(long)]
    pub apply_disruptive: bool,
    /// Print the requests that would be sent and a monthly cost estimate; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub network: NetworkArgs,
    #[command(flatten)]
    pub cmk: CmkArgs,
    #[command(flatten)]
    pub entra: EntraArgs,
    #[command(flatten)]
    pub roles: RoleArgs,
}

impl ApplyArgs {
    /// The server parameters to set: `--param`, and the built-in
    /// PgBouncer's for `--pooler` (a `--param` of the same name wins).
    pub fn all_params(&self) -> Vec<(String, String)> {
        let mut out = self.params.clone();
        let pooler: Vec<(&str, String)> = match self.pooler {
            None => Vec::new(),
            Some(crate::local::PoolerKind::None) => vec![("pgbouncer.enabled", "false".into())],
            Some(crate::local::PoolerKind::Pgbouncer) => vec![
                ("pgbouncer.enabled", "true".into()),
                ("pgbouncer.pool_mode", "transaction".into()),
                ("pgbouncer.default_pool_size", self.pool_size.to_string()),
                ("pgbouncer.max_client_conn", self.max_client_conn.to_string()),
                (
                    "pgbouncer.query_wait_timeout",
                    self.query_wait_timeout.as_secs().max(1).to_string(),
                ),
                // The administrator may read SHOW POOLS (sw-health --pooler-url).
                ("pgbouncer.stats_users", self.admin_user.clone()),
                // client_connections_waiting and the other pooler metrics (sw-health --azure).
                ("metrics.pgbouncer_diagnostics", "on".into()),
            ],
        };
        for (k, v) in pooler {
            if !out.iter().any(|(have, _)| have == k) {
                out.push((k.to_owned(), v));
            }
        }
        out
    }

    /// Whether the env files get the built-in PgBouncer's URL.
    pub fn pooled(&self) -> bool {
        self.pooler == Some(crate::local::PoolerKind::Pgbouncer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_spellings_map_back() {
        assert_eq!(from_arm("generalpurpose", Tier::arm), Some(Tier::GeneralPurpose));
        assert_eq!(from_arm("ZoneRedundant", Ha::arm), Some(Ha::ZoneRedundant));
        assert_eq!(from_arm("maybe", OnOff::arm), None);
        assert!(parse_db_name("app").is_ok());
        assert!(parse_db_name("1app").is_err());
        assert_eq!(parse_kv(" a = b ").unwrap(), ("a".into(), "b".into()));
    }

    #[test]
    fn a_param_of_the_same_name_wins_over_the_poolers() {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: ApplyArgs,
        }
        let parse = |extra: &[&str]| {
            let mut v = vec!["t"];
            v.extend_from_slice(extra);
            <T as clap::Parser>::try_parse_from(v).unwrap().a
        };
        assert!(parse(&[]).all_params().is_empty());
        let a = parse(&["--pooler", "pgbouncer", "--param", "pgbouncer.default_pool_size=50"]);
        let all = a.all_params();
        let sizes: Vec<&str> = all
            .iter()
            .filter(|(k, _)| k == "pgbouncer.default_pool_size")
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(sizes, ["50"]);
        assert!(a.pooled());
        assert_eq!(
            parse(&["--pooler", "none"]).all_params(),
            [("pgbouncer.enabled".to_owned(), "false".to_owned())]
        );
    }
}
