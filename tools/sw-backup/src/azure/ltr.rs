//! Long-term retention of a Flexible Server: a full backup copied to
//! storage the customer owns, beyond the 35 days of point-in-time restore.
//! `ltr-check` asks Azure whether one can start (`POST …/ltrPreBackup`,
//! synchronous), `ltr-start` starts one (`POST …/startLtrBackup`) into the
//! SAS URLs read from a file (a SAS URL is a credential: never argv,
//! never printed, redacted from every message) and waits for it, `ltr-list`
//! prints every long-term backup operation.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};
use sw_core::azure::flexible::ops;
use sw_core::azure::flexible::target::AzureOpts;
use sw_core::azure::flexible::text;
use sw_core::config::Env;
use sw_core::contract::{Record, Timestamp};
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::{Error, IoContext, Result};

use super::backups::check_name;
use super::{Server, time_at};

/// Flags of `sw-backup ltr-check`.
#[derive(Args, Debug)]
pub struct LtrCheckArgs {
    #[command(flatten)]
    pub azure: AzureOpts,
    /// The name the long-term backup is to have.
    #[arg(long, value_name = "NAME")]
    pub backup: String,
}

/// Flags of `sw-backup ltr-start`.
#[derive(Args, Debug)]
pub struct LtrStartArgs {
    #[command(flatten)]
    pub azure: AzureOpts,
    /// The name the long-term backup is to have.
    #[arg(long, value_name = "NAME")]
    pub backup: String,
    /// File holding the target container's SAS URL (one per line; mode 0600: a SAS URL is a credential and never goes on the command line).
    #[arg(long, value_name = "FILE")]
    pub sas_file: PathBuf,
    /// Return once Azure accepted the backup instead of waiting until it ends.
    #[arg(long)]
    pub no_wait: bool,
}

/// Flags of `sw-backup ltr-list`.
#[derive(Args, Debug)]
pub struct LtrListArgs {
    #[command(flatten)]
    pub azure: AzureOpts,
}

/// Whether a long-term backup can start now.
#[derive(Serialize, JsonSchema, Debug)]
pub struct LtrCheck {
    /// The server's ARM id.
    pub server: String,
    /// The long-term backup's name.
    pub backup_name: String,
    /// Azure's pre-check passed.
    pub ok: bool,
    /// Storage containers the backup needs (`numberOfContainers`); null when Azure does not say.
    pub containers: Option<u64>,
}

impl Record for LtrCheck {
    const KIND: &'static str = "backup.azure.ltr.check";
}

/// A long-term backup operation.
#[derive(Serialize, JsonSchema, Debug)]
pub struct LtrBackup {
    /// The server's ARM id.
    pub server: String,
    /// The long-term backup's name.
    pub backup_name: String,
    /// Azure's status: Running, Succeeded, Failed, Cancelled.
    pub status: String,
    /// How far it is (percent); null when Azure does not say.
    pub percent_complete: Option<u64>,
    /// The size of the data backed up (`datasourceSizeInBytes`).
    pub datasource_bytes: Option<u64>,
    /// Bytes copied so far (`dataTransferredInBytes`).
    pub transferred_bytes: Option<u64>,
    pub start_time: Option<Timestamp>,
    pub end_time: Option<Timestamp>,
    /// Azure's error for a failed backup; null otherwise.
    pub error: Option<String>,
    /// The ARM operation id of the start (ltr-start); null in ltr-list.
    pub operation_id: Option<String>,
}

impl Record for LtrBackup {
    const KIND: &'static str = "backup.azure.ltr";
}

impl LtrBackup {
    fn of(server: &str, name: &str, op: &Value, operation_id: Option<String>) -> LtrBackup {
        let n = |k: &str| op.pointer(&format!("/properties/{k}")).and_then(Value::as_u64);
        let status = text(op, "/properties/status");
        let error = match text(op, "/properties/errorMessage") {
            "" => None,
            e => Some(e.to_owned()),
        };
        LtrBackup {
            server: server.to_owned(),
            backup_name: match text(op, "/properties/backupName") {
                "" => name.to_owned(),
                b => b.to_owned(),
            },
            status: if status.is_empty() {
                "Unknown".into()
            } else {
                status.into()
            },
            percent_complete: n("percentComplete"),
            datasource_bytes: n("datasourceSizeInBytes"),
            transferred_bytes: n("dataTransferredInBytes"),
            start_time: time_at(op, "/properties/startTime"),
            end_time: time_at(op, "/properties/endTime"),
            error,
            operation_id,
        }
    }
}

fn settings(name: &str) -> Value {
    json!({"backupSettings": {"backupName": name}})
}

fn pre_check(s: &Server, name: &str) -> Result<Option<u64>> {
    let path = s.at.path("/ltrPreBackup");
    let r = s.client.request("POST", &path, Some(&settings(name)))?;
    if !(200..300).contains(&r.status) {
        return Err(s.client.http_error("POST", &s.client.url(&path), &r));
    }
    Ok(r.body.pointer("/properties/numberOfContainers").and_then(Value::as_u64))
}

/// `sw-backup ltr-check`.
pub fn check(a: &LtrCheckArgs, pretty: bool) -> Result<()> {
    check_name(&a.backup)?;
    let s = Server::open(&a.azure)?;
    let containers = pre_check(&s, &a.backup)?;
    Output::stdout(pretty).emit(&LtrCheck {
        server: s.at.id(),
        backup_name: a.backup.clone(),
        ok: true,
        containers,
    })
}

/// The SAS URLs in `path`: registered as secrets before anything else.
///
/// # Errors
/// 66/74/77 reading the file; 65 when a line is not an https URL with a signature.
pub fn read_sas(path: &Path) -> Result<Vec<String>> {
    use std::os::unix::fs::PermissionsExt as _;
    let text = std::fs::read_to_string(path).io_context(|| format!("reading {}", q(path)))?;
    let urls: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect();
    for u in &urls {
        sw_core::secret::register(u);
        if let Some((_, query)) = u.split_once('?') {
            sw_core::secret::register(query);
        }
    }
    if urls.is_empty() {
        return Err(Error::data(format!("{} holds no SAS URL", q(path))));
    }
    if let Some((n, _)) = urls
        .iter()
        .enumerate()
        .find(|(_, u)| !u.starts_with("https://") || !u.contains("sig="))
    {
        return Err(Error::data(format!(
            "{} line {}: not a container SAS URL (https://…?…&sig=…)",
            q(path),
            n + 1
        )));
    }
    if let Ok(m) = std::fs::metadata(path)
        && m.permissions().mode() & 0o077 != 0
    {
        log::warn!(
            "{} can be read by others: a SAS URL is a credential (chmod 600)",
            q(path)
        );
    }
    Ok(urls)
}

/// `sw-backup ltr-start`: pre-check, start, and (unless --no-wait) wait
/// until Azure says the backup ended.
pub fn start(a: &LtrStartArgs, pretty: bool) -> Result<()> {
    check_name(&a.backup)?;
    let sas = read_sas(&a.sas_file)?;
    let s = Server::open(&a.azure)?;
    pre_check(&s, &a.backup)?;
    let _lock = s.client.write_lock(&s.at.id(), &Env::process())?;
    let mut body = settings(&a.backup);
    body["targetDetails"] = json!({"sasUriList": sas});
    let started = ops::start(&s.client, "POST", &s.at.path("/startLtrBackup"), Some(&body))?;
    let mut op = started.response.body.clone();
    if !a.no_wait {
        ops::finish(&s.client, &started)?;
        op = wait_ended(&s, &a.backup)?;
    }
    let rec = LtrBackup::of(&s.at.id(), &a.backup, &op, started.operation_id.clone());
    Output::stdout(pretty).emit(&rec)?;
    match rec.status.to_ascii_lowercase().as_str() {
        "failed" | "cancelled" | "canceled" => Err(Error::unavailable(format!(
            "long-term backup {} {}: {}",
            a.backup,
            rec.status,
            rec.error.clone().unwrap_or_default()
        ))),
        _ => Ok(()),
    }
}

/// Poll `ltrBackupOperations/{name}` until its status is no longer Running.
fn wait_ended(s: &Server, name: &str) -> Result<Value> {
    let path = s.at.path(&format!("/ltrBackupOperations/{name}"));
    let t0 = Instant::now();
    loop {
        let op = s.client.get(&path)?;
        let status = text(&op, "/properties/status").to_owned();
        if !status.eq_ignore_ascii_case("running") && !status.is_empty() {
            s.client.end_progress();
            return Ok(op);
        }
        s.client
            .report_progress(&format!("long-term backup {name}"), &status, t0.elapsed());
        if t0.elapsed() + s.client.policy.poll_interval > s.client.policy.operation_timeout {
            s.client.end_progress();
            return Err(Error::temp(format!(
                "long-term backup {name} still running after {}s; `sw-backup ltr-list --azure` shows it",
                s.client.policy.operation_timeout.as_secs()
            )));
        }
        std::thread::sleep(s.client.policy.poll_interval);
    }
}

/// `sw-backup ltr-list`.
pub fn list(a: &LtrListArgs, pretty: bool) -> Result<()> {
    let s = Server::open(&a.azure)?;
    let mut out = Output::stdout(pretty);
    for op in s.client.list(&s.at.path("/ltrBackupOperations"))? {
        let name = text(&op, "/name").to_owned();
        out.emit(&LtrBackup::of(&s.at.id(), &name, &op, None))?;
    }
    out.flush()
}
