//! The glue every tool's `main` goes through: parse flags (help/version on
//! stdout with exit 0, usage errors as one line with exit 64), set up
//! logging, run, and turn the result into one stderr line and an exit code.
//! Also the flag groups tools share, so `--db` means the same everywhere.

use std::future::Future;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser};

use crate::config::Env;
use crate::error::{Error, Result};
use crate::exit::Exit;
use crate::pg::{self, Connection, Session};
use crate::target::Target;

/// Flags every tool has.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonOpts {
    /// More logging on stderr (-v info, -vv debug, -vvv trace); SW_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Indent JSON output for people (still valid JSON, no longer one record per line).
    #[arg(long, global = true)]
    pub pretty: bool,
}

/// How a tool reaches its database (flatten into any command that connects).
#[derive(Args, Debug, Clone, Default)]
pub struct PgOpts {
    /// Target database: a postgresql:// URI or key=value conninfo. Prefer
    /// --env-file or DATABASE_URL for targets with passwords (argv is visible to other users).
    #[arg(long, value_name = "URI|CONNINFO")]
    pub db: Option<String>,
    /// Read DATABASE_URL from this env file (KEY=value lines).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
    /// Give up connecting after this long (unless the target sets connect_timeout).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::parse)]
    pub connect_timeout: Duration,
    /// statement_timeout for the session.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::duration::parse)]
    pub statement_timeout: Duration,
    /// lock_timeout for the session.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::parse)]
    pub lock_timeout: Duration,
    /// application_name for the session (default: the program's name).
    #[arg(long, value_name = "NAME")]
    pub application_name: Option<String>,
    /// Sign in to Azure Database for PostgreSQL with a Microsoft Entra ID token instead of a
    /// password (the target's user is the Entra principal; HOW picks the credential, default auto).
    #[arg(long, value_name = "HOW", value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "auto")]
    pub azure_auth: Option<pg::entra::AzureAuth>,
}

impl PgOpts {
    /// Resolve the target (see [`Target::resolve`]).
    pub fn target(&self) -> Result<Target> {
        self.target_in(&Env::process())
    }

    /// Resolve the target in `env`; with `--azure-auth` its password is an
    /// Entra ID token fetched now.
    pub fn target_in(&self, env: &Env) -> Result<Target> {
        let mut t = Target::resolve(self.db.as_deref(), self.env_file.as_deref(), env)?;
        if let Some(how) = self.azure_auth {
            pg::entra::apply(&mut t, how, env)?;
        }
        Ok(t)
    }

    /// The session settings for `tool`.
    pub fn session(&self, tool: &str) -> Session {
        let mut s = Session::new(self.application_name.as_deref().unwrap_or(tool));
        s.statement_timeout = self.statement_timeout;
        s.lock_timeout = self.lock_timeout;
        s.connect_timeout = self.connect_timeout;
        s
    }

    /// Resolve and connect.
    pub async fn connect(&self, tool: &str) -> Result<(Target, Connection)> {
        let mut t = self.target()?;
        if self.application_name.is_some() {
            t.application_name = None;
        }
        let c = pg::connect(&t, &self.session(tool)).await?;
        Ok((t, c))
    }
}

/// Where the PostgreSQL server programs are and whom they run as (flatten
/// into any command that runs initdb, pg_ctl, pg_basebackup, pg_waldump...).
#[derive(Args, Debug, Clone)]
pub struct ServerOpts {
    /// Directory of the PostgreSQL server programs (default: SW_PG_BINDIR, PATH, pg_config --bindir,
    /// the newest /usr/lib/postgresql/*/bin).
    #[arg(long, value_name = "DIR", alias = "pg-bindir")]
    pub bindir: Option<PathBuf>,
    /// OS user the server programs run as when invoked as root (initdb and postgres refuse root).
    #[arg(long, value_name = "USER", default_value = crate::cluster::DEFAULT_OS_USER)]
    pub os_user: String,
}

impl ServerOpts {
    /// Find the programs and make a runner for them.
    ///
    /// # Errors
    /// 69 when the programs are not found; 78 for an unknown OS user.
    pub fn runner(&self) -> Result<crate::cluster::Runner> {
        let b = crate::cluster::Bindir::find(self.bindir.as_deref(), &Env::process())?;
        crate::cluster::Runner::new(b, &self.os_user)
    }
}

/// The backup repository (flatten into any command that reads or writes it).
#[derive(Args, Debug, Clone)]
pub struct RepoOpts {
    /// The backup repository: a directory, or azure://ACCOUNT/CONTAINER[/PREFIX] (Azure Blob Storage).
    #[arg(long, value_name = "DIR|URL", env = "SW_BACKUP_REPO")]
    pub repo: PathBuf,
    #[command(flatten)]
    pub blob: BlobOpts,
    #[command(flatten)]
    pub keys: KeyOpts,
}

/// What unlocks an encrypted repository. Only file names: the key or
/// passphrase itself is never on argv, in the environment or printed.
///
/// The environment variables are read here, not by clap, so a command can
/// tell them from the flags: set once for every command (a systemd unit),
/// they must not break a plain repository, where an explicit flag is a
/// mistake (64).
#[derive(Args, Debug, Clone, Default)]
pub struct KeyOpts {
    /// Key file (64 hex digits) unlocking an encrypted repository; `setup --encrypt` creates it (mode 0600) when missing. Default: SW_BACKUP_KEY_FILE (ignored by a plain repository).
    #[arg(long, value_name = "FILE", conflicts_with = "passphrase_file")]
    pub key_file: Option<PathBuf>,
    /// File whose first line is the passphrase unlocking an encrypted repository (8 characters or more). Default: SW_BACKUP_PASSPHRASE_FILE (ignored by a plain repository).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// Which key file or passphrase file a command uses, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyChoice {
    KeyFile(PathBuf),
    PassphraseFile(PathBuf),
}

impl KeyChoice {
    /// The flag that names this file on a command line.
    pub fn flag(&self) -> &'static str {
        match self {
            KeyChoice::KeyFile(_) => "--key-file",
            KeyChoice::PassphraseFile(_) => "--passphrase-file",
        }
    }

    pub fn path(&self) -> &std::path::Path {
        match self {
            KeyChoice::KeyFile(p) | KeyChoice::PassphraseFile(p) => p,
        }
    }
}

/// Where a [`KeyChoice`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Flag,
    Env,
}

/// The environment variables standing in for the key flags.
pub const KEY_FILE_ENV: &str = "SW_BACKUP_KEY_FILE";
pub const PASSPHRASE_FILE_ENV: &str = "SW_BACKUP_PASSPHRASE_FILE";

impl KeyOpts {
    /// The flags when given, else the environment's variables.
    ///
    /// # Errors
    /// 64 when both variables are set (and no flag chooses).
    pub fn choice(&self, env: &Env) -> Result<Option<(KeyChoice, KeySource)>> {
        if let Some(p) = &self.key_file {
            return Ok(Some((KeyChoice::KeyFile(p.clone()), KeySource::Flag)));
        }
        if let Some(p) = &self.passphrase_file {
            return Ok(Some((KeyChoice::PassphraseFile(p.clone()), KeySource::Flag)));
        }
        match (env.get(KEY_FILE_ENV), env.get(PASSPHRASE_FILE_ENV)) {
            (Some(_), Some(_)) => Err(Error::usage(format!(
                "{KEY_FILE_ENV} and {PASSPHRASE_FILE_ENV} are both set; keep one, or choose with --key-file/--passphrase-file"
            ))),
            (Some(k), None) => Ok(Some((KeyChoice::KeyFile(k.into()), KeySource::Env))),
            (None, Some(p)) => Ok(Some((KeyChoice::PassphraseFile(p.into()), KeySource::Env))),
            (None, None) => Ok(None),
        }
    }
}

/// How an `azure://` repository is reached. The credentials are only ever
/// read from a file: never argv (seen by every user in `ps`), never printed.
#[derive(Args, Debug, Clone)]
pub struct BlobOpts {
    /// Blob service endpoint for an azure:// repository (Azurite: https://127.0.0.1:PORT/ACCOUNT; sovereign clouds); default https://ACCOUNT.blob.core.windows.net.
    #[arg(long, value_name = "URL", env = "SW_AZURE_BLOB_ENDPOINT")]
    pub azure_endpoint: Option<String>,
    /// Env file holding AZURE_STORAGE_KEY (shared key) or AZURE_STORAGE_SAS_TOKEN for an azure:// repository.
    #[arg(long, value_name = "FILE", env = "SW_AZURE_CREDENTIALS")]
    pub azure_credentials: Option<PathBuf>,
    /// Trust only the CA certificates in this PEM file for the Blob endpoint (Azurite, a private CA) instead of the system's.
    #[arg(long, value_name = "FILE", env = "SW_AZURE_CA_FILE")]
    pub azure_ca_file: Option<PathBuf>,
    /// Upload block size (MiB) for an azure:// repository: larger objects go up in blocks, 4 in parallel, committed at the end.
    #[arg(long, value_name = "MIB", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4000))]
    pub azure_block_mib: u32,
}

impl BlobOpts {
    /// What an azure:// repository adds to a command's exit codes (for
    /// the man pages), after the command's own meanings.
    #[must_use]
    pub fn exits(mut d: crate::contract::CommandDoc) -> crate::contract::CommandDoc {
        for (code, more) in [
            (
                69,
                "an azure:// repository cannot be reached (DNS, TLS, connection refused)",
            ),
            (
                75,
                "Blob Storage kept failing (503, 500, resets) through the retries, or a request hung past the deadline",
            ),
            (
                77,
                "Blob Storage refused the credentials (wrong key, expired SAS, clock skew)",
            ),
            (
                78,
                "an azure:// repository without --azure-credentials, or a credentials file holding neither AZURE_STORAGE_KEY nor AZURE_STORAGE_SAS_TOKEN",
            ),
        ] {
            let meaning = match d.exits.iter().find(|(c, _)| *c == code) {
                Some((_, m)) => format!("{m}; {more}"),
                None => more.to_owned(),
            };
            d = d.exit(code, &meaning);
        }
        d
    }
}

impl RepoOpts {
    /// The repository as the user gave it: `azure://...` stays a URL.
    pub fn is_blob(&self) -> bool {
        self.repo.to_str().is_some_and(|s| s.starts_with("azure://"))
    }

    /// The flags that reach this repository again, for a command line
    /// another program runs (archive_command, restore_command): the
    /// credentials travel as a file name, never their content.
    ///
    /// The key file travels only for an `encrypted` repository (from a
    /// flag or the environment: the child does not inherit ours).
    pub fn reach_args(&self, repo: &str, encrypted: bool) -> Vec<(&'static str, String)> {
        let mut v = vec![("--repo", repo.to_owned())];
        if self.is_blob() {
            if let Some(e) = &self.blob.azure_endpoint {
                v.push(("--azure-endpoint", e.clone()));
            }
            for (flag, p) in [
                ("--azure-credentials", &self.blob.azure_credentials),
                ("--azure-ca-file", &self.blob.azure_ca_file),
            ] {
                if let Some(p) = p {
                    let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
                    v.push((flag, abs.display().to_string()));
                }
            }
        }
        if encrypted && let Ok(Some((choice, _))) = self.keys.choice(&Env::process()) {
            let p = choice.path();
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
            v.push((choice.flag(), abs.display().to_string()));
        }
        v
    }
}

/// A tool's parsed command line.
pub trait Tool: Parser {
    /// The program name used as the stderr prefix.
    const NAME: &'static str;
    /// The common flags.
    fn common(&self) -> &CommonOpts;
    /// Adjust the derived definition before parsing, e.g. a shared flag's
    /// default that differs for this tool (`mut_arg`). The man pages see
    /// the same adjusted definition through [`command`].
    fn adjust(cmd: clap::Command) -> clap::Command {
        cmd
    }
}

/// A tool's clap definition as parsed (for man pages and completions).
pub fn command<C: Tool>() -> clap::Command {
    C::adjust(C::command())
}

fn parse<C: Tool>() -> std::result::Result<C, clap::Error> {
    let mut matches = command::<C>().try_get_matches()?;
    C::from_arg_matches_mut(&mut matches)
}

/// Run a tool: the whole of a `main.rs`.
pub fn main<C: Tool>(run: fn(C) -> Result<()>) -> ExitCode {
    let name = C::NAME;
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!(
            "{name}: error: internal error{at}: {}",
            crate::secret::redact(&msg).replace('\n', " ")
        );
    }));
    // A panicking value parser is an internal error (70) like any other.
    let parsed = match std::panic::catch_unwind(parse::<C>) {
        Ok(p) => p,
        Err(_) => return ExitCode::from(Exit::Software.code()),
    };
    let cli = match parsed {
        Ok(c) => c,
        Err(e) => return clap_exit(name, &e),
    };
    let common = cli.common().clone();
    crate::log::init(name, common.verbose, common.quiet);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(cli)));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => report(name, &e),
        Err(_) => ExitCode::from(Exit::Software.code()),
    }
}

/// Print an error as one line and return its exit code. A broken pipe
/// (exit "Ok") is silent.
pub fn report(name: &str, e: &Error) -> ExitCode {
    // Check results (1/2/3) are verdicts, not failures of the tool: say so.
    let level = match e.exit() {
        Exit::Ok => return ExitCode::SUCCESS,
        Exit::Warning => "warning",
        Exit::Critical => "critical",
        Exit::Unknown => "unknown",
        _ => "error",
    };
    eprintln!("{name}: {level}: {e}");
    ExitCode::from(e.exit().code())
}

fn clap_exit(name: &str, e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(Exit::Usage.code())
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("{name}: error: {} (see {name} --help)", crate::secret::redact(first));
            ExitCode::from(Exit::Usage.code())
        }
    }
}

/// Run async work on a current-thread runtime. SIGINT and SIGTERM drop the
/// in-flight futures (closing connections, which cancels their statements
/// server-side) and the run ends with exit 75.
pub fn block_on<F, T>(fut: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::software("starting the async runtime").with_source(e))?;
    rt.block_on(async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Error::software("installing the SIGTERM handler").with_source(e))?;
        tokio::select! {
            biased;
            _ = tokio::signal::ctrl_c() => Err(Error::temp("interrupted (SIGINT)")),
            _ = term.recv() => Err(Error::temp("interrupted (SIGTERM)")),
            r = fut => r,
        }
    })
}
