//! `sw-provision azure`: an Azure Database for PostgreSQL Flexible Server
//! through the Resource Manager API (api-version 2025-08-01).
//!
//! Every run GETs first and sends only what differs, so re-running is safe:
//! a server still being created (an interrupted earlier run) is re-attached
//! to rather than created twice, and HA zones that swapped after a failover
//! are not drift (fixtures README §6, terraform-provider-azurerm#13443).
//! `--dry-run` does the same reads and prints the writes it would send.

mod apply;
mod caps;
mod cost;
mod firewall;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use sw_core::azure::token::AuthMethod;
use sw_core::azure::{ArmClient, Endpoints, token_source_from_env};
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::output::{Output, now_rfc3339};
use sw_core::{Error, Result};

use crate::local::url_from;
pub use apply::ApplyArgs;

/// The api-version every request uses.
pub const API_VERSION: &str = "2025-08-01";

/// Which credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS.
    Auto,
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

/// Which server, and how to reach ARM.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Subscription id (default: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,
    /// Resource group (must exist).
    #[arg(long, value_name = "NAME")]
    pub resource_group: String,
    /// Server name (3-63 lowercase letters, digits and inner hyphens).
    #[arg(long, value_name = "NAME", value_parser = parse_server_name)]
    pub name: String,
    /// How to get a token.
    #[arg(long, value_enum, default_value_t = Auth::Auto)]
    pub auth: Auth,
    /// Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com).
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com).
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// Poll interval when Azure sends no Retry-After.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse)]
    pub poll_interval: Duration,
    /// Give up waiting for one operation after this long (exit 75; run again to re-attach).
    #[arg(long, value_name = "DURATION", default_value = "3h", value_parser = sw_core::duration::parse)]
    pub operation_timeout: Duration,
}

impl Target {
    /// The subscription: --subscription, else AZURE_SUBSCRIPTION_ID
    /// (empty when neither; [`Target::client`] refuses that first).
    pub fn subscription(&self) -> String {
        self.subscription
            .clone()
            .or_else(|| Env::process().get("AZURE_SUBSCRIPTION_ID"))
            .unwrap_or_default()
    }

    /// The server's ARM id.
    pub fn server_id(&self) -> String {
        self.id_of(&self.name)
    }

    /// The ARM id of server `name` in the same subscription and resource group.
    pub fn id_of(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}",
            self.subscription(),
            self.resource_group,
        )
    }

    /// A path under the server, with the api-version.
    pub fn path(&self, sub: &str) -> String {
        format!("{}{sub}?api-version={API_VERSION}", self.server_id())
    }

    /// The client for this target.
    pub fn client(&self) -> Result<ArmClient> {
        let sub = self.subscription();
        if sub.is_empty() || !sub.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::config(format!(
                "no valid subscription id ({sub:?}): pass --subscription or set AZURE_SUBSCRIPTION_ID"
            )));
        }
        let env = Env::process();
        let ep = Endpoints::from_env(&env, self.arm_endpoint.as_deref(), self.token_endpoint.as_deref());
        let method = match self.auth {
            Auth::Auto => AuthMethod::Auto,
            Auth::ClientSecret => AuthMethod::ClientSecret,
            Auth::WorkloadIdentity => AuthMethod::WorkloadIdentity,
            Auth::ManagedIdentity => AuthMethod::ManagedIdentity,
            Auth::AzureCli => AuthMethod::AzureCli,
        };
        let mut c = ArmClient::new(ep.clone(), token_source_from_env(&env, &ep, method)?);
        c.policy.poll_interval = self.poll_interval;
        c.policy.operation_timeout = self.operation_timeout;
        c.policy.base_delay = self.poll_interval.min(Duration::from_secs(2));
        Ok(c)
    }
}

/// Server names: 3-63 characters, `^[a-z0-9]+(-[a-z0-9]+)*$` (the service
/// wants lowercase; the spec pattern is looser).
pub fn parse_server_name(s: &str) -> std::result::Result<String, String> {
    let ok = (3..=63).contains(&s.len())
        && s.split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?}: server names are 3-63 lowercase letters, digits and inner hyphens"
        ))
    }
}

/// A region's name as ARM paths take it: `East US` -> `eastus` (GETs may
/// answer with the display name).
pub fn region(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `--location`: letters and digits (spaces dropped).
pub fn parse_region(s: &str) -> std::result::Result<String, String> {
    let r = region(s);
    if r.is_empty() || !r.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{s:?} is not an Azure region name (e.g. westeurope)"));
    }
    Ok(r)
}

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

/// Run `azure`.
pub fn run(cmd: AzureCmd, pretty: bool) -> Result<()> {
    match (cmd.sub, cmd.target) {
        (Some(AzureSub::Replica(a)), _) => replica(&a, pretty),
        (Some(AzureSub::Status(a)), _) => status(&a, pretty),
        (Some(AzureSub::Delete(a)), _) => delete(&a, pretty),
        (None, Some(t)) => apply::run(&t, &cmd.apply, pretty),
        (None, None) => Err(Error::usage(
            "sw-provision azure needs --subscription, --resource-group and --name",
        )),
    }
}

fn s<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// States in which the server is still being changed by an operation.
pub fn is_busy(state: &str) -> bool {
    matches!(
        state.to_ascii_lowercase().as_str(),
        "provisioning" | "updating" | "starting" | "stopping" | "restarting" | "dropping"
    )
}

/// Wait for a server that an earlier (interrupted) run left mid-operation.
pub fn reattach(c: &ArmClient, t: &Target, mut server: Value) -> Result<Value> {
    let deadline = std::time::Instant::now() + c.policy.operation_timeout;
    while is_busy(s(&server, "/properties/state").unwrap_or("")) {
        if std::time::Instant::now() + c.policy.poll_interval > deadline {
            return Err(Error::temp(format!(
                "server {} is still {} after {}s; run again to re-attach",
                t.name,
                s(&server, "/properties/state").unwrap_or("?"),
                c.policy.operation_timeout.as_secs()
            )));
        }
        std::thread::sleep(c.policy.poll_interval);
        server = c
            .get_opt(&t.path(""))?
            .ok_or_else(|| Error::unavailable(format!("server {} disappeared while being created", t.name)))?;
    }
    let state = s(&server, "/properties/state").unwrap_or("");
    if state.eq_ignore_ascii_case("Disabled") || state.eq_ignore_ascii_case("Inaccessible") {
        return Err(Error::unavailable(format!("server {} is {state}", t.name)));
    }
    Ok(server)
}

/// The `provision.azure.status` record fields from a server resource.
pub fn summary(server: &Value) -> Value {
    json!({
        "id": server.get("id"),
        "name": server.get("name"),
        "location": server.get("location"),
        "state": server.pointer("/properties/state"),
        "fqdn": server.pointer("/properties/fullyQualifiedDomainName"),
        "sku": server.pointer("/sku/name"),
        "tier": server.pointer("/sku/tier"),
        "version": server.pointer("/properties/version"),
        "storage_gb": server.pointer("/properties/storage/storageSizeGB"),
        "storage_auto_grow": server.pointer("/properties/storage/autoGrow"),
        "ha_mode": server.pointer("/properties/highAvailability/mode"),
        "ha_state": server.pointer("/properties/highAvailability/state"),
        "zone": server.pointer("/properties/availabilityZone"),
        "standby_zone": server.pointer("/properties/highAvailability/standbyAvailabilityZone"),
        "backup_retention_days": server.pointer("/properties/backup/backupRetentionDays"),
        "geo_redundant_backup": server.pointer("/properties/backup/geoRedundantBackup"),
        "replication_role": server.pointer("/properties/replica/role").or_else(|| server.pointer("/properties/replicationRole")),
    })
}

fn record(out: &mut Output, kind: &str, mut v: Value, extra: Value) -> Result<()> {
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, x) in e {
            o.insert(k.clone(), x.clone());
        }
    }
    out.record(kind, &v)
}

fn status(a: &StatusArgs, pretty: bool) -> Result<()> {
    let c = a.target.client()?;
    let server = c.get_opt(&a.target.path(""))?.ok_or_else(|| {
        Error::no_input(format!(
            "server {} does not exist in resource group {}",
            a.target.name, a.target.resource_group
        ))
    })?;
    let mut out = Output::stdout(pretty);
    record(
        &mut out,
        "provision.azure.status",
        json!({"time": now_rfc3339()}),
        summary(&server),
    )?;
    // As `status` of a local cluster: 0 ready, 1 busy with an operation,
    // 2 not serving (stopped, disabled, inaccessible, being dropped).
    let state = s(&server, "/properties/state").unwrap_or("");
    if state.eq_ignore_ascii_case("Ready") {
        Ok(())
    } else if is_busy(state) && !state.eq_ignore_ascii_case("Dropping") {
        Err(Error::new(
            sw_core::Exit::Warning,
            format!("server {} is {state}", a.target.name),
        ))
    } else {
        Err(Error::new(
            sw_core::Exit::Critical,
            format!(
                "server {} is {}",
                a.target.name,
                if state.is_empty() { "in no known state" } else { state }
            ),
        ))
    }
}

fn delete(a: &DeleteArgs, pretty: bool) -> Result<()> {
    if !a.yes {
        return Err(Error::usage(format!(
            "delete removes server {} and its backups; pass --yes",
            a.target.name
        )));
    }
    let c = a.target.client()?;
    let _lock = c.write_lock(&a.target.server_id(), &Env::process())?;
    let existed = c.get_opt(&a.target.path(""))?.is_some();
    if existed {
        c.mutate("DELETE", &a.target.path(""), None)?;
    }
    Output::stdout(pretty).record(
        "provision.azure.delete",
        &json!({"time": now_rfc3339(), "id": a.target.server_id(), "deleted": existed}),
    )
}

fn replica(a: &ReplicaArgs, pretty: bool) -> Result<()> {
    let t = &a.target;
    let c = t.client()?;
    let source_id = if a.of.starts_with("/subscriptions/") {
        a.of.clone()
    } else {
        parse_server_name(&a.of).map_err(Error::usage)?;
        t.id_of(&a.of)
    };
    let primary = c
        .get_opt(&format!("{source_id}?api-version={API_VERSION}"))?
        .ok_or_else(|| Error::data(format!("the primary {source_id} does not exist")))?;
    let location = a
        .location
        .clone()
        .or_else(|| primary.get("location").and_then(Value::as_str).map(region))
        .ok_or_else(|| Error::data("the primary has no location; pass --location"))?;
    let mut out = Output::stdout(pretty);
    let mut changes = Vec::new();
    let existing = c.get_opt(&t.path(""))?;
    let server = match existing {
        Some(srv) => {
            let role = s(&srv, "/properties/replica/role")
                .or_else(|| s(&srv, "/properties/replicationRole"))
                .unwrap_or("");
            if !role.to_ascii_lowercase().contains("replica") {
                return Err(Error::data(format!(
                    "server {} exists and is not a replica (role {role:?})",
                    t.name
                )));
            }
            if is_busy(s(&srv, "/properties/state").unwrap_or("")) && !a.dry_run {
                changes.push(json!({"action": "reattach", "detail": "replica creation in progress"}));
                reattach(&c, t, srv)?
            } else {
                srv
            }
        }
        None => {
            let body = json!({
                "location": location,
                "properties": {"createMode": "Replica", "sourceServerResourceId": source_id},
            });
            changes.push(
                json!({"action": "create_replica", "detail": format!("{} of {source_id} in {location}", t.name)}),
            );
            if a.dry_run {
                out.record(
                    "azure.request",
                    &json!({"method": "PUT", "url": c.url(&t.path("")), "body": body}),
                )?;
                Value::Null
            } else {
                let _lock = c.write_lock(&t.server_id(), &Env::process())?;
                c.mutate("PUT", &t.path(""), Some(&body))?
            }
        }
    };
    if let (Some(env_file), false) = (&a.env_file, a.dry_run) {
        let mut env = EnvFile::read(env_file)?;
        let url = env
            .get("DATABASE_URL")
            .ok_or_else(|| Error::config(format!("{} has no DATABASE_URL (the primary's)", env_file.display())))?;
        let fqdn = s(&server, "/properties/fullyQualifiedDomainName")
            .ok_or_else(|| Error::unavailable("the replica has no fullyQualifiedDomainName yet"))?;
        let mut p = sw_core::conninfo::parse(url)?;
        p.insert("host".into(), fqdn.to_owned());
        let ro = url_from(&p);
        if env.get("DATABASE_URL_READONLY") != Some(ro.as_str()) {
            env.set("DATABASE_URL_READONLY", &ro);
            env.write(env_file)?;
            changes.push(json!({"action": "write_env_file", "detail": env_file.display().to_string()}));
        }
    }
    let extra = if server.is_null() { json!({}) } else { summary(&server) };
    record(
        &mut out,
        "provision.azure.replica",
        json!({"dry_run": a.dry_run, "changed": !changes.is_empty(), "source_id": source_id, "changes": changes}),
        extra,
    )
}
