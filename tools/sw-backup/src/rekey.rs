//! `sw-backup rekey` and the keyring half of `setup --encrypt`: the data
//! key is rewrapped (a wrapping added, one removed, a passphrase changed)
//! and no object is rewritten (`sw_core::repo::keys`).

use std::path::{Path, PathBuf};

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;
use sw_core::cli::{KeyChoice, RepoOpts};
use sw_core::cluster::Cluster;
use sw_core::contract::Record;
use sw_core::crypt::{KeyFile, Unlock};
use sw_core::fsutil::q;
use sw_core::output::Output;
use sw_core::repo::Repo;
use sw_core::repo::keys::{default_label, passphrase_file};
use sw_core::{Error, Result};

/// Flags of `sw-backup rekey`.
#[derive(Args, Debug)]
pub struct RekeyArgs {
    /// The repository, unlocked by its current --key-file or --passphrase-file.
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Add a wrapping of the data key by this key file (created, mode 0600, when missing).
    #[arg(long, value_name = "FILE", conflicts_with = "add_passphrase_file")]
    pub add_key_file: Option<PathBuf>,
    /// Add a wrapping of the data key by the passphrase on this file's first line.
    #[arg(long, value_name = "FILE")]
    pub add_passphrase_file: Option<PathBuf>,
    /// Label of the added wrapping (default: key-<fingerprint>, or passphrase, passphrase-2, ...).
    #[arg(long, value_name = "LABEL")]
    pub label: Option<String>,
    /// Remove the wrapping with this label (repeatable); the key it stood for stops opening the repository. The last wrapping is never removed.
    #[arg(long, value_name = "LABEL")]
    pub remove: Vec<String>,
}

/// One wrapping of the data key (nothing secret).
#[derive(Serialize, JsonSchema)]
pub struct WrappingInfo {
    label: String,
    /// key_file or passphrase.
    kind: String,
    /// A key file's fingerprint; null for a passphrase.
    fingerprint: Option<String>,
}

/// The keyring after a rekey.
#[derive(Serialize, JsonSchema)]
pub struct RekeyRecord {
    /// The repository.
    repo: String,
    /// The data key's id (unchanged by a rekey: no object was rewritten).
    key_id: String,
    /// The keyring object's number now in force (older ones were deleted).
    keyring_version: u32,
    /// The label added; null when none.
    added: Option<String>,
    /// The labels removed.
    removed: Vec<String>,
    /// Every wrapping left.
    wrappings: Vec<WrappingInfo>,
}

impl Record for RekeyRecord {
    const KIND: &'static str = "backup.rekey";
}

/// The unlock for a wrapping to add: a key file (generated when missing,
/// then given to `owner`) or a passphrase file.
fn new_unlock(
    key_file: Option<&Path>,
    pass: Option<&Path>,
    owner: &dyn Fn(&Path) -> Result<()>,
) -> Result<Option<Unlock>> {
    if let Some(p) = key_file {
        if !p.exists() {
            KeyFile::generate()?.save(p)?;
            owner(p)?;
            log::info!(
                "created the key file {} (mode 0600): keep a copy away from the repository",
                q(p)
            );
        }
        return Ok(Some(Unlock::KeyFile(KeyFile::load(p)?)));
    }
    pass.map(passphrase_file).transpose()
}

/// `setup --encrypt`: open or create the encrypted repository, giving a
/// new directory repository (and a generated key file) to the server's
/// OS user, which archives into it.
///
/// # Errors
/// 64 without a key flag; 77/78 as [`Repo::init_encrypted`].
pub fn init_encrypted(cluster: &Cluster, opts: &RepoOpts) -> Result<Repo> {
    init_encrypted_in(cluster, opts, &sw_core::config::Env::process())
}

/// As [`init_encrypted`], the key variables read from `env` (an off-site
/// link's).
///
/// # Errors
/// As [`init_encrypted`].
pub fn init_encrypted_in(cluster: &Cluster, opts: &RepoOpts, env: &sw_core::config::Env) -> Result<Repo> {
    let choice = opts.keys.choice(env)?.map(|(c, _)| c);
    let (key_file, passphrase_file) = match &choice {
        Some(KeyChoice::KeyFile(p)) => (Some(p.as_path()), None),
        Some(KeyChoice::PassphraseFile(p)) => (None, Some(p.as_path())),
        None => (None, None),
    };
    let owner = |p: &Path| match &cluster.runner.user {
        Some(u) => sw_core::cluster::chown_recursive(p, u.uid, u.gid),
        None => Ok(()),
    };
    let unlock = new_unlock(key_file, passphrase_file, &owner)?
        .ok_or_else(|| Error::usage("--encrypt needs --key-file FILE or --passphrase-file FILE"))?;
    let label = default_label(None, &unlock)?;
    let fresh = !opts.is_blob() && !opts.repo.join(sw_core::repo::MARKER).exists();
    let repo = Repo::init_encrypted(opts, &unlock, &label)?;
    if !repo.is_blob() {
        crate::setup::give_to_server(cluster, &repo, fresh)?;
    }
    Ok(repo)
}

pub fn run(a: &RekeyArgs, pretty: bool) -> Result<()> {
    if a.add_key_file.is_none() && a.add_passphrase_file.is_none() && a.remove.is_empty() {
        return Err(Error::usage(
            "rekey needs --add-key-file, --add-passphrase-file or --remove LABEL",
        ));
    }
    let repo = Repo::open_opts(&a.repo)?;
    let crypt = repo
        .crypt()
        .ok_or_else(|| Error::usage(format!("{} is not encrypted", q(&repo.root))))?;
    let key = repo
        .data_key()?
        .ok_or_else(|| Error::software("an encrypted repository without its key"))?;
    let mut ring = crypt.ring.clone();
    let owner = |p: &Path| repo.adopt(p);
    let added = match new_unlock(a.add_key_file.as_deref(), a.add_passphrase_file.as_deref(), &owner)? {
        Some(u) => {
            let label = match &a.label {
                Some(l) => l.clone(),
                None => default_label(Some(&ring), &u)?,
            };
            ring.add(key, &u, &label)?;
            Some(label)
        }
        None => None,
    };
    for l in &a.remove {
        ring.remove(l)?;
    }
    let version = repo.replace_keyring(&ring)?;
    Output::stdout(pretty).emit(&RekeyRecord {
        repo: repo.root.display().to_string(),
        key_id: ring.key_id.clone(),
        keyring_version: version,
        added,
        removed: a.remove.clone(),
        wrappings: ring
            .wrappings
            .iter()
            .map(|w| WrappingInfo {
                label: w.label.clone(),
                kind: w.kind.clone(),
                fingerprint: w.fingerprint.clone(),
            })
            .collect(),
    })
}
