//! The records `local`, `status`, `destroy` and `replica` print: one type
//! per kind, so these structs are the whole of what a consumer sees.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;
use sw_core::contract::{Record, Timestamp};

use super::args::Storage;

/// What a step of a local run did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create the cluster (data checksums, UTF-8, SCRAM).
    Initdb,
    /// Create the private CA clients verify the server with.
    CreateCa,
    /// Issue (or renew) the server certificate.
    IssueServerCertificate,
    /// Write the server parameters that differ.
    SetParameters,
    /// Write pg_hba.conf and pg_ident.conf.
    WritePgHba,
    /// Restart the server (a changed parameter needs it).
    Restart,
    /// Reload the server's configuration.
    Reload,
    /// Start the server.
    Start,
    /// The cluster is stopped: its role and database are checked once it runs (dry run only).
    CheckRoleAndDatabase,
    /// Create the application role.
    CreateRole,
    /// Give the application role a new password.
    RotatePassword,
    /// Set the application role's password to the env file's.
    SetPassword,
    /// Write the connection strings to the env file.
    WriteEnvFile,
    /// Make the env file private again (0600).
    ChmodEnvFile,
    /// Create the application database.
    CreateDatabase,
    /// Hand an existing database with another owner (and its public schema) to the application role.
    AdoptDatabase,
    /// Write the pooler's configuration, hba and auth files and its copies of the TLS files.
    WritePoolerConfig,
    /// The cluster is stopped: the pooler's lookup role is checked once it runs (dry run only).
    CheckLookupRole,
    /// Set the application role's session defaults (statement_timeout, lock_timeout, TimeZone).
    SetSessionDefaults,
    /// Create the pooler's lookup role.
    CreateLookupRole,
    /// Set the lookup role's password to the auth file's.
    SetLookupPassword,
    /// Write the lookup function (and its grants) in the application database.
    WriteLookupFunction,
    /// Start the pooler.
    StartPooler,
    /// Reload the pooler's configuration.
    ReloadPooler,
    /// Restart the pooler (its address changed).
    RestartPooler,
    /// Stop the pooler and delete its directory (`--pooler none`).
    RemovePooler,
    /// Drop the lookup role and its function (`--pooler none`).
    DropLookupRole,
    /// Take DATABASE_URL_POOLED out of the env file (`--pooler none`).
    RemovePooledUrl,
    /// Create the replication role on the primary.
    CreateReplicationRole,
    /// Create the standby's physical replication slot on the primary.
    CreateSlot,
    /// Copy the primary with pg_basebackup.
    BaseBackup,
}

/// One change a run made or plans.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Change {
    /// What was done.
    pub action: Action,
    /// To what, for people (names, paths, parameters); never a secret.
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

/// The result of `sw-provision local`: what the cluster is and what this run changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LocalResult {
    /// When the run finished.
    pub time: Timestamp,
    /// Whether this was a dry run (nothing was changed).
    pub dry_run: bool,
    /// Whether anything was (or, in a dry run, would be) changed.
    pub changed: bool,
    /// The provision directory.
    pub dir: PathBuf,
    /// The cluster's data directory (DIR/data).
    pub datadir: PathBuf,
    /// The host name in the connection strings and the server certificate.
    pub host: String,
    /// The server's TCP port.
    pub port: u16,
    /// The application database.
    pub database: String,
    /// The application role.
    pub role: String,
    /// The env file holding the connection strings (mode 0600).
    pub env_file: PathBuf,
    /// The CA certificate clients verify the server with (sslrootcert).
    pub ca_cert: PathBuf,
    /// The pooler's TCP port (DATABASE_URL_POOLED), or null without --pooler.
    pub pooler_port: Option<u16>,
    /// The memory the parameters were tuned for.
    pub memory_bytes: u64,
    /// The cores the parameters were tuned for.
    pub cpus: u32,
    /// The storage class the planner costs were set for.
    pub storage: Storage,
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
}

impl Record for LocalResult {
    const KIND: &'static str = "provision.local";
}

/// Whether a cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    /// The server runs (exit 0).
    Running,
    /// The cluster exists and is stopped (exit 2).
    Stopped,
}

/// The state of the local cluster in a provision directory.
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusResult {
    /// When it was looked at.
    pub time: Timestamp,
    /// The provision directory.
    pub dir: PathBuf,
    /// Whether the server runs.
    pub status: RunState,
    /// The postmaster's process id when it runs, else null.
    pub pid: Option<u32>,
    /// The TCP port `local` set up (null without its state file).
    pub port: Option<u16>,
    /// The application database (null without the state file).
    pub database: Option<String>,
    /// The env file with the connection strings (null without the state file).
    pub env_file: Option<PathBuf>,
    /// The pooler, or null when the directory has none.
    pub pooler: Option<PoolerStatus>,
}

/// The state of a provision directory's pooler.
#[derive(Debug, Serialize, JsonSchema)]
pub struct PoolerStatus {
    /// Whether it runs (a stopped pooler makes the exit 2).
    pub status: RunState,
    /// Its process id when it runs, else null.
    pub pid: Option<u32>,
    /// Its TCP port (null without the state file).
    pub port: Option<u16>,
}

impl Record for StatusResult {
    const KIND: &'static str = "provision.status";
}

/// What `sw-provision destroy` removed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DestroyResult {
    /// When it finished.
    pub time: Timestamp,
    /// The provision directory.
    pub dir: PathBuf,
    /// The files and directories removed (and the env file that lost sw-provision's keys).
    pub removed: Vec<PathBuf>,
    /// The replication slot dropped on the primary when the directory held a standby, else null.
    pub dropped_slot: Option<String>,
}

impl Record for DestroyResult {
    const KIND: &'static str = "provision.destroy";
}

/// Whether a standby replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum StandbyState {
    /// Its WAL receiver streams from the primary (the only state a run ends in successfully).
    Streaming,
}

/// The result of `sw-provision replica`: the standby and what this run changed.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ReplicaResult {
    /// When the run finished.
    pub time: Timestamp,
    /// Whether anything was changed.
    pub changed: bool,
    /// The standby's provision directory.
    pub dir: PathBuf,
    /// The standby's TCP port.
    pub port: u16,
    /// Its physical replication slot on the primary.
    pub slot: String,
    /// Its replication state.
    pub status: StandbyState,
    /// The primary it follows, as host:port.
    pub primary: String,
    /// The env file that holds DATABASE_URL_READONLY, or null when there is none.
    pub env_file: Option<PathBuf>,
    /// The changes, in the order they were made.
    pub changes: Vec<Change>,
}

impl Record for ReplicaResult {
    const KIND: &'static str = "provision.replica";
}
