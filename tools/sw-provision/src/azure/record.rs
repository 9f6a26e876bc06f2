//! The records the `azure` commands print: one type per kind. The server
//! fields they share ([`ServerSummary`]) are read from the ARM resource
//! once, here, and follow the field rule: the storage size in bytes, the
//! backup retention in milliseconds, null for what the server does not say.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use sw_core::contract::{Record, Timestamp};

use super::cost::Estimate;
use super::server::{replication_role, text};

const GIB: u64 = 1024 * 1024 * 1024;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// What a step of an Azure run did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Waited for an operation an earlier run left running.
    Reattach,
    /// Create the server.
    CreateServer,
    /// Change the server (the detail names the fields).
    UpdateServer,
    /// Add or correct a firewall rule.
    AllowIp,
    /// Remove a firewall rule of ours no longer asked for.
    RemoveFirewallRule,
    /// Set a server parameter.
    SetParameter,
    /// Create the application database.
    CreateDatabase,
    /// Restart the server for parameters that need it.
    Restart,
    /// Write the connection strings to the env file.
    WriteEnvFile,
    /// Create a read replica.
    CreateReplica,
    /// Take an on-demand backup (before a major version upgrade).
    Backup,
    /// Upgrade the server's PostgreSQL major version in place (--apply-disruptive).
    UpgradeMajorVersion,
    /// Disable high availability (to move the standby to another zone; --apply-disruptive).
    DisableHa,
    /// Enable high availability again, with the standby in the zone asked for.
    EnableHa,
    /// Add or correct the Microsoft Entra administrator.
    SetEntraAdmin,
    /// Write the administrator's connection strings to its own env file.
    WriteAdminEnvFile,
    /// The application role and database are checked over SQL when applied (dry run only).
    CheckRoleAndDatabase,
    /// Create the application role.
    CreateRole,
    /// Give the application role a new password.
    RotatePassword,
    /// Set the application role's password to the env file's.
    SetPassword,
    /// Make the env file private again (0600).
    ChmodEnvFile,
    /// Hand an existing database (and its public schema) to the application role.
    AdoptDatabase,
}

/// One change a run made or plans.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Change {
    /// What was done.
    pub action: Action,
    /// To what, for people; never a secret.
    pub detail: String,
}

impl Change {
    /// A change.
    pub fn new(action: Action, detail: impl Into<String>) -> Change {
        Change {
            action,
            detail: detail.into(),
        }
    }
}

/// An HTTP method of a write to ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Put,
    Patch,
    Delete,
    Post,
}

impl Method {
    /// As HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Post => "POST",
        }
    }
}

/// A request a dry run would send (printed before the run's result).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The full URL, with the api-version.
    pub url: String,
    /// The JSON body as it would be sent, the administrator password
    /// replaced by `<redacted>`; null for a request without one.
    pub body: Option<Value>,
}

impl Record for Request {
    const KIND: &'static str = "azure.request";
}

/// A Flexible Server as ARM describes it (null where the resource does
/// not say, or where there is no server yet, as in a dry run's create).
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ServerSummary {
    /// The server name.
    pub name: Option<String>,
    /// Its region, as ARM writes it (`eastus` or `East US`).
    pub location: Option<String>,
    /// ARM's `properties.state`: Ready, Provisioning, Updating, Stopped, ...
    pub state: Option<String>,
    /// The host name clients connect to.
    pub fqdn: Option<String>,
    /// The compute SKU (`Standard_D2ds_v5`).
    pub sku: Option<String>,
    /// The pricing tier (`GeneralPurpose`).
    pub tier: Option<String>,
    /// The PostgreSQL major version.
    pub version: Option<String>,
    /// The provisioned storage (ARM's storageSizeGB, in GiB, times 2^30).
    pub storage_bytes: Option<u64>,
    /// Storage auto-grow: Enabled or Disabled.
    pub storage_auto_grow: Option<String>,
    /// High availability mode: Disabled, ZoneRedundant or SameZone.
    pub ha_mode: Option<String>,
    /// High availability state (`Healthy`, ...).
    pub ha_state: Option<String>,
    /// The primary's availability zone.
    pub zone: Option<String>,
    /// The HA standby's availability zone.
    pub standby_zone: Option<String>,
    /// How long backups are kept (ARM's backupRetentionDays in milliseconds).
    pub backup_retention_ms: Option<u64>,
    /// Geo-redundant backup: Enabled or Disabled.
    pub geo_redundant_backup: Option<String>,
    /// Primary, AsyncReplica, ... (`properties.replica.role`).
    pub replication_role: Option<String>,
    /// Public network access: Enabled or Disabled.
    pub public_network_access: Option<String>,
    /// The delegated subnet of a server with private access (ARM id).
    pub subnet: Option<String>,
    /// The private DNS zone of a server with private access (ARM id).
    pub private_dns_zone: Option<String>,
    /// Data encryption: SystemManaged or AzureKeyVault (a customer-managed key).
    pub data_encryption: Option<String>,
    /// The customer-managed key's URI.
    pub key_uri: Option<String>,
    /// The customer-managed key's state as the server sees it: Valid or Invalid.
    pub key_status: Option<String>,
    /// The geo-redundant backup's key URI.
    pub geo_backup_key_uri: Option<String>,
    /// The geo-redundant backup key's state: Valid or Invalid.
    pub geo_backup_key_status: Option<String>,
    /// Password sign-in: Enabled or Disabled.
    pub password_auth: Option<String>,
    /// Microsoft Entra ID sign-in: Enabled or Disabled.
    pub entra_auth: Option<String>,
}

impl ServerSummary {
    /// The summary of a server resource.
    pub fn of(server: &Value) -> ServerSummary {
        let s = |ptr: &str| server.pointer(ptr).and_then(Value::as_str).map(str::to_owned);
        let n = |ptr: &str| server.pointer(ptr).and_then(Value::as_u64);
        ServerSummary {
            name: s("/name"),
            location: s("/location"),
            state: s("/properties/state"),
            fqdn: s("/properties/fullyQualifiedDomainName"),
            sku: s("/sku/name"),
            tier: s("/sku/tier"),
            version: s("/properties/version"),
            storage_bytes: n("/properties/storage/storageSizeGB").and_then(|gb| gb.checked_mul(GIB)),
            storage_auto_grow: s("/properties/storage/autoGrow"),
            ha_mode: s("/properties/highAvailability/mode"),
            ha_state: s("/properties/highAvailability/state"),
            zone: s("/properties/availabilityZone"),
            standby_zone: s("/properties/highAvailability/standbyAvailabilityZone"),
            backup_retention_ms: n("/properties/backup/backupRetentionDays").and_then(|d| d.checked_mul(DAY_MS)),
            geo_redundant_backup: s("/properties/backup/geoRedundantBackup"),
            replication_role: Some(replication_role(server).to_owned()).filter(|r| !r.is_empty()),
            public_network_access: s("/properties/network/publicNetworkAccess"),
            subnet: s("/properties/network/delegatedSubnetResourceId"),
            private_dns_zone: s("/properties/network/privateDnsZoneArmResourceId"),
            data_encryption: s("/properties/dataEncryption/type"),
            key_uri: s("/properties/dataEncryption/primaryKeyURI"),
            key_status: s("/properties/dataEncryption/primaryEncryptionKeyStatus"),
            geo_backup_key_uri: s("/properties/dataEncryption/geoBackupKeyURI"),
            geo_backup_key_status: s("/properties/dataEncryption/geoBackupEncryptionKeyStatus"),
            password_auth: s("/properties/authConfig/passwordAuth"),
            entra_auth: s("/properties/authConfig/activeDirectoryAuth"),
        }
    }

    /// The summary of a server, or all null when there is none.
    pub fn of_opt(server: Option<&Value>) -> ServerSummary {
        server.map_or_else(ServerSummary::default, ServerSummary::of)
    }
}

/// The ARM id of a server resource, when it has one.
pub fn id_of(server: &Value) -> Option<String> {
    Some(text(server, "/id").to_owned()).filter(|s| !s.is_empty())
}

/// The result of `sw-provision azure`: the server and what this run changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AzureResult {
    /// Whether this was a dry run (nothing was sent but reads).
    pub dry_run: bool,
    /// Whether anything was (or would be) changed.
    pub changed: bool,
    /// The server's ARM id.
    pub id: String,
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
    /// What was asked for and cannot be done (also logged on stderr).
    pub warnings: Vec<String>,
    /// Whether a changed parameter waits for a restart (run again with --restart).
    pub restart_pending: bool,
    /// The env file holding the application role's connection strings
    /// (not written with --no-app-role).
    pub env_file: PathBuf,
    /// The env file holding the administrator's connection strings (0600;
    /// null when the server has no password administrator).
    pub admin_env_file: Option<PathBuf>,
    /// The application role (null with --no-app-role or Entra-only sign-in).
    pub app_role: Option<String>,
    /// A rough monthly cost of the server as asked for.
    pub cost_estimate: Estimate,
    #[serde(flatten)]
    pub server: ServerSummary,
}

impl Record for AzureResult {
    const KIND: &'static str = "provision.azure";
    /// 2: `storage_gb` became `storage_bytes` and `backup_retention_days`
    /// became `backup_retention_ms`; the server fields are null, not
    /// missing, before the server exists.
    const SCHEMA: u32 = 2;
}

/// The state of a Flexible Server (`azure status`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusResult {
    /// When it was looked at.
    pub time: Timestamp,
    /// The server's ARM id.
    pub id: Option<String>,
    #[serde(flatten)]
    pub server: ServerSummary,
}

impl Record for StatusResult {
    const KIND: &'static str = "provision.azure.status";
    /// 2: as `provision.azure` 2.
    const SCHEMA: u32 = 2;
}

/// The result of `azure replica`: the replica and what this run changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReplicaResult {
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// Whether anything was (or would be) changed.
    pub changed: bool,
    /// The primary's ARM id.
    pub source_id: String,
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
    /// The replica's ARM id (null before it exists).
    pub id: Option<String>,
    #[serde(flatten)]
    pub server: ServerSummary,
}

impl Record for ReplicaResult {
    const KIND: &'static str = "provision.azure.replica";
    /// 2: as `provision.azure` 2.
    const SCHEMA: u32 = 2;
}

/// The result of `azure delete`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DeleteResult {
    /// When it finished.
    pub time: Timestamp,
    /// The server's ARM id.
    pub id: String,
    /// Whether there was a server to delete (false: it was already gone).
    pub deleted: bool,
}

impl Record for DeleteResult {
    const KIND: &'static str = "provision.azure.delete";
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_follow_the_field_rule() {
        let s = ServerSummary::of(&json!({
            "name": "db1",
            "properties": {"storage": {"storageSizeGB": 128}, "backup": {"backupRetentionDays": 7}, "replica": {"role": "Primary"}},
        }));
        assert_eq!(s.storage_bytes, Some(128 * GIB));
        assert_eq!(s.backup_retention_ms, Some(7 * DAY_MS));
        assert_eq!(s.replication_role.as_deref(), Some("Primary"));
        assert_eq!(s.state, None);
        let v = serde_json::to_value(ServerSummary::default()).unwrap();
        assert!(v.as_object().unwrap().values().all(Value::is_null), "{v}");
    }
}
