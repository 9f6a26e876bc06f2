//! stderr logging: `<tool>: <level>: <message>`, whole lines, secrets
//! redacted. Level from -v/-q, overridden by `SW_LOG` (env_logger syntax).

use std::io::Write;

use crate::config::Env;

/// Set up logging once per process.
pub fn init(tool: &'static str, verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => log::LevelFilter::Error,
        (false, 0) => log::LevelFilter::Warn,
        (false, 1) => log::LevelFilter::Info,
        (false, 2) => log::LevelFilter::Debug,
        (false, _) => log::LevelFilter::Trace,
    };
    let mut b = env_logger::Builder::new();
    b.filter_level(level);
    // Dependencies are chatty at debug; keep them at warn unless asked.
    for noisy in [
        "tokio_postgres",
        "postgres_openssl",
        "ureq",
        "rustls",
        "azure_core",
        "azure_identity",
    ] {
        b.filter_module(noisy, log::LevelFilter::Warn.min(level));
    }
    if let Some(spec) = Env::process().get("SW_LOG") {
        b.parse_filters(&spec);
    }
    b.format(move |buf, record| {
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warning",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace",
        };
        let msg = crate::secret::redact(&record.args().to_string()).replace('\n', " ");
        writeln!(buf, "{tool}: {level}: {msg}")
    });
    b.target(env_logger::Target::Stderr);
    let _ = b.try_init();
}
