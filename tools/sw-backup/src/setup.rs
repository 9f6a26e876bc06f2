//! `sw-backup setup`: register a local cluster in the repository and write
//! its archive settings into sw-backup.conf (included from postgresql.conf
//! after sw.conf, so tools that rewrite sw.conf do not drop them).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::{RepoOpts, ServerOpts};
use sw_core::cluster::{Cluster, Status};
use sw_core::contract::Record;
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::repo::Repo;
use sw_core::{Error, IoContext, Result};

use crate::identity::identity;

/// Flags of `sw-backup setup`.
#[derive(Args, Debug)]
pub struct SetupArgs {
    #[command(flatten)]
    pub repo: RepoOpts,
    /// The cluster's data directory.
    #[arg(long, value_name = "DIR")]
    pub pgdata: PathBuf,
    #[command(flatten)]
    pub server: ServerOpts,
    /// The sw-backup binary archive_command runs (default: this one); the server's OS user must be able to run it.
    #[arg(long, value_name = "PATH")]
    pub sw_backup: Option<PathBuf>,
    /// archive_timeout: force a segment switch after this long so idle periods are archived too (bounds the RPO).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = archive_timeout)]
    pub archive_timeout: Duration,
    /// Create the repository encrypted (AES-256-GCM, names by HMAC), unlocked by --key-file (created when missing) or --passphrase-file; every later command that reads contents needs the same flag.
    #[arg(long)]
    pub encrypt: bool,
    /// Link an off-site azure:// repository (created when missing, encrypted when FILE names a key): an env file of SW_BACKUP_REPO, SW_AZURE_BLOB_ENDPOINT, SW_AZURE_CREDENTIALS, SW_AZURE_CA_FILE and SW_BACKUP_KEY_FILE or SW_BACKUP_PASSPHRASE_FILE. wal-push then queues every segment for it and `sync` copies.
    #[arg(long, value_name = "FILE")]
    pub offsite: Option<PathBuf>,
}

/// The off-site repository linked by `setup --offsite`.
#[derive(Serialize, JsonSchema)]
pub struct OffsiteSetup {
    /// Its URL.
    repo: String,
    /// It is encrypted.
    encrypted: bool,
    /// Its key id when encrypted.
    key_id: Option<String>,
}

/// Whole seconds, 0 (off) or 1s up to PostgreSQL's limit: written as `<n>s`,
/// which PostgreSQL reads (it does not read sw's `5m`).
fn archive_timeout(s: &str) -> std::result::Result<Duration, String> {
    let d = sw_core::duration::parse(s)?;
    if d.subsec_nanos() != 0 || d.as_secs() > 1_073_741_823 {
        return Err(format!("archive_timeout {s:?} must be whole seconds (0 turns it off)"));
    }
    Ok(d)
}

/// A cluster registered and its archive settings written.
#[derive(Serialize, JsonSchema)]
pub struct SetupRecord {
    /// The cluster's data directory (absolute).
    pgdata: String,
    /// The repository (absolute).
    repo: String,
    /// The cluster's area in the repository.
    area: String,
    /// The cluster's system identifier.
    system_identifier: String,
    /// The cluster's PostgreSQL major version.
    pg_major: u32,
    /// The cluster's WAL segment size (schema 1 called it wal_segment_size).
    wal_segment_bytes: u64,
    /// The archive_command written.
    archive_command: String,
    /// archive_mode or wal_level changed: restart the server for them to apply.
    restart_required: bool,
    /// The running server was reloaded (archive_command and archive_timeout apply at once).
    reloaded: bool,
    /// The repository is encrypted.
    encrypted: bool,
    /// The encrypted repository's key id (public: tells which data key wrote it); null when plain.
    key_id: Option<String>,
    /// The off-site repository linked (--offsite), else null.
    offsite: Option<OffsiteSetup>,
}

impl Record for SetupRecord {
    const KIND: &'static str = "backup.setup";
    const SCHEMA: u32 = 2;
}

/// sw-backup's own settings file, included from postgresql.conf after
/// sw.conf (which other tools rewrite), so archive settings survive them.
pub const CONF: &str = "sw-backup.conf";

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

pub fn run(a: &SetupArgs, pretty: bool) -> Result<()> {
    let cluster = Cluster::new(&a.pgdata, a.server.runner()?)?;
    let datadir = cluster.datadir.clone();
    let (sysid, major) = identity(&datadir)?;
    let seg = wal_segment_size(&cluster)?;
    let exe = match &a.sw_backup {
        Some(p) => std::path::absolute(p).io_context(|| format!("resolving {}", q(p)))?,
        None => std::env::current_exe().io_context(|| "finding this program's path".into())?,
    };
    let repo = if a.encrypt {
        crate::rekey::init_encrypted(&cluster, &a.repo)?
    } else if a.repo.is_blob() {
        Repo::init_opts(&a.repo)?
    } else {
        open_for_server(&cluster, &a.repo.repo)?.unlock(&a.repo.keys, false)?
    };
    let area = repo.ensure_area(&sysid, major, seg)?;
    let offsite = a
        .offsite
        .as_deref()
        .map(|f| link_offsite(&cluster, &repo, f, (&sysid, major, seg)))
        .transpose()?;
    check_server_can_run(&cluster, &exe)?;
    // An azure:// repository's endpoint, credentials file and CA file go
    // along as paths: the archiver's OS user must be able to read them.
    let mut command = format!("{} wal-push", shell_quote(&exe.display().to_string()));
    for (flag, v) in a.repo.reach_args(&repo.root.display().to_string(), repo.is_encrypted()) {
        command.push_str(&format!(" {flag} {}", shell_quote(&v)));
    }
    command.push_str(" %p");
    let restart_required = write_settings(&cluster, &command, a.archive_timeout)?;
    let mut reloaded = false;
    if let Status::Running(_) = cluster.status()? {
        cluster
            .runner
            .run("pg_ctl", ["reload", "-D", &datadir.display().to_string()])?;
        reloaded = true;
    }
    Output::stdout(pretty).emit(&SetupRecord {
        pgdata: datadir.display().to_string(),
        repo: repo.root.display().to_string(),
        area: area.dir.display().to_string(),
        system_identifier: sysid,
        pg_major: major,
        wal_segment_bytes: seg,
        archive_command: command,
        restart_required,
        reloaded,
        encrypted: repo.is_encrypted(),
        key_id: repo.crypt().map(|c| c.ring.key_id.clone()),
        offsite,
    })
}

/// Open (creating) the off-site repository `file` names, register the
/// cluster's area there and write the link into the primary.
/// A key file it names is created when missing and given to the server's
/// OS user, as `--encrypt` does for the primary.
fn link_offsite(
    cluster: &Cluster,
    repo: &Repo,
    file: &Path,
    (sysid, major, seg): (&str, u32, u64),
) -> Result<OffsiteSetup> {
    use sw_core::repo::offsite::Link;
    let abs = std::path::absolute(file).io_context(|| format!("resolving {}", q(file)))?;
    let text = sw_core::envfile::EnvFile::read(&abs)?;
    let link = Link::parse(&text, abs.parent().unwrap_or(Path::new("/")), &q(&abs))?;
    if repo.is_blob() {
        return Err(Error::usage(
            "--offsite links an off-site repository to a directory repository (the primary, which keeps the queue); --repo is azure://",
        ));
    }
    if repo.is_encrypted() && !link.names_key() {
        return Err(Error::usage(format!(
            "{} is encrypted; its off-site copy must be too: name SW_BACKUP_KEY_FILE or SW_BACKUP_PASSPHRASE_FILE in {}",
            q(&repo.root),
            q(&abs)
        )));
    }
    let off = if link.names_key() {
        crate::rekey::init_encrypted_in(cluster, &link.opts, link.env())
    } else {
        Repo::init_opts(&link.opts)
    }
    .map_err(|e| e.context(format!("the off-site repository {}", link.url())))?;
    off.ensure_area(sysid, major, seg)?;
    link.save(repo)?;
    Ok(OffsiteSetup {
        repo: link.url(),
        encrypted: off.is_encrypted(),
        key_id: off.crypt().map(|c| c.ring.key_id.clone()),
    })
}

/// The cluster's WAL segment size, from pg_controldata.
fn wal_segment_size(cluster: &Cluster) -> Result<u64> {
    let out = cluster
        .runner
        .run("pg_controldata", ["-D", &cluster.datadir.display().to_string()])?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.strip_prefix("Bytes per WAL segment:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::software("pg_controldata did not report the WAL segment size"))
}

/// Open (creating) the repository at `path`, owned by the server's OS user:
/// the archiver runs as that user and writes into it.
fn open_for_server(cluster: &Cluster, path: &Path) -> Result<Repo> {
    let repo_path = std::path::absolute(path).io_context(|| format!("resolving {}", q(path)))?;
    let fresh = !repo_path.join(sw_core::repo::MARKER).exists();
    let repo = Repo::init(&repo_path)?;
    give_to_server(cluster, &repo, fresh)?;
    Ok(repo)
}

/// Give a new (or root-owned) directory repository to the server's OS user.
pub(crate) fn give_to_server(cluster: &Cluster, repo: &Repo, fresh: bool) -> Result<()> {
    if let Some(u) = &cluster.runner.user {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(&repo.root).io_context(|| format!("reading {}", q(&repo.root)))?;
        if fresh || m.uid() == 0 {
            sw_core::cluster::chown_recursive(&repo.root, u.uid, u.gid)?;
        }
    }
    Ok(())
}

/// Prove the server's OS user can run the archive command before relying on it.
fn check_server_can_run(cluster: &Cluster, exe: &Path) -> Result<()> {
    let mut probe = std::process::Command::new(exe);
    cluster.runner.prepare(&mut probe);
    probe.arg("--version");
    sw_core::cluster::run_checked(&mut probe, &format!("{} (as the server's OS user)", exe.display()))
        .map_err(|e| {
            e.with_exit(sw_core::Exit::NoPerm).context(format!(
                "the server's OS user cannot run {}; install sw-backup where it can (e.g. /usr/local/bin) or pass --sw-backup",
                q(exe)
            ))
        })?;
    Ok(())
}

/// Write archive_mode, archive_command, archive_timeout and wal_level
/// into sw-backup.conf; true when a change needs a restart.
fn write_settings(cluster: &Cluster, command: &str, timeout: Duration) -> Result<bool> {
    let before = cluster.read_conf_file(CONF)?;
    let mut settings = before.clone();
    let mut set = |k: &str, v: &str| {
        if let Some(e) = settings.iter_mut().find(|(key, _)| key == k) {
            e.1 = v.to_owned();
        } else {
            settings.push((k.to_owned(), v.to_owned()));
        }
    };
    set("archive_mode", "on");
    set("archive_command", command);
    set("archive_timeout", &format!("{}s", timeout.as_secs()));
    // wal_level: replica unless the cluster already runs logical.
    let main_conf = std::fs::read_to_string(cluster.datadir.join("postgresql.conf")).unwrap_or_default();
    let sw_conf = cluster.read_settings()?;
    let logical = sw_conf.iter().any(|(k, v)| k == "wal_level" && v == "logical")
        || main_conf
            .lines()
            .any(|l| l.trim_start().starts_with("wal_level") && l.contains("logical"));
    set("wal_level", if logical { "logical" } else { "replica" });
    let get = |s: &[(String, String)], k: &str| s.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    let restart_required = get(&before, "archive_mode") != get(&settings, "archive_mode")
        || get(&before, "wal_level") != get(&settings, "wal_level");
    cluster.write_conf_file(CONF, "# Written by sw-backup setup (archiving).", &settings)?;
    Ok(restart_required)
}
