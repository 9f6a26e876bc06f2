//! Renders every tool's man pages and shell completions from its clap
//! definition (`command()`), so docs never drift from the flags. The output
//! is committed under `man/`; a test fails when it is stale.

use std::path::PathBuf;

use clap::Command;

/// Every tool: its binary name and clap definition.
pub fn tools() -> Vec<Command> {
    vec![
        sw_health::command(),
        sw_backup::command(),
        sw_restore::command(),
        sw_alerts::command(),
        sw_provision::command(),
        sw_vacuum::command(),
        sw_migrate_sqlite::command(),
    ]
}

/// A generated file: path relative to the repository root, and content.
pub struct Generated {
    pub path: PathBuf,
    pub content: Vec<u8>,
}

/// Render all man pages (one per command and subcommand) and completions.
pub fn render_all() -> Vec<Generated> {
    let mut out = Vec::new();
    for cmd in tools() {
        let mut cmd = cmd;
        cmd.build();
        man_pages(&cmd, &mut out);
        completions(&cmd, &mut out);
    }
    out
}

fn man_pages(cmd: &Command, out: &mut Vec<Generated>) {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name()).to_owned();
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone())
        .title(name.to_uppercase())
        .section("1")
        .manual("sw manual");
    man.render(&mut buf).unwrap_or_default();
    buf.extend_from_slice(extra_sections().as_bytes());
    out.push(Generated {
        path: PathBuf::from(format!("man/man1/{name}.1")),
        content: buf,
    });
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let sub_name = format!("{name}-{}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(&sub_name)
            .bin_name(sub_name.replace('-', " ").replacen(' ', "-", 0));
        man_pages(&sub, out);
    }
}

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-")
}

fn extra_sections() -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for e in sw_core::Exit::ALL {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", e.code(), roff_escape(e.meaning())));
    }
    s.push_str(".SH ENVIRONMENT\n");
    let env = [
        (
            "DATABASE_URL",
            "target database when neither \\-\\-db nor \\-\\-env\\-file is given",
        ),
        (
            "PGHOST, PGHOSTADDR, PGPORT, PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE, PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY, PGCONNECT_TIMEOUT, PGAPPNAME, PGOPTIONS",
            "libpq variables; they fill whatever the chosen target leaves out, then ~/.pgpass supplies a missing password",
        ),
        (
            "SW_LOG",
            "log filter for stderr (env_logger syntax, e.g. debug or sw_core=trace)",
        ),
        (
            "SW_PG_BINDIR",
            "directory of the PostgreSQL server programs (initdb, pg_ctl)",
        ),
    ];
    for (k, v) in env {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff_escape(k), v));
    }
    s.push_str(".SH OUTPUT\nResults go to stdout as JSON Lines: one object per line, each with \\fBkind\\fR and \\fBschema\\fR fields first. Logs and errors go to stderr as single lines prefixed with the program name; passwords are never printed.\n");
    s
}

fn completions(cmd: &Command, out: &mut Vec<Generated>) {
    use clap_complete::Shell;
    let name = cmd.get_name().to_owned();
    for (shell, dir, file) in [
        (Shell::Bash, "bash", name.clone()),
        (Shell::Zsh, "zsh", format!("_{name}")),
        (Shell::Fish, "fish", format!("{name}.fish")),
    ] {
        let mut buf = Vec::new();
        let mut c = cmd.clone();
        clap_complete::generate(shell, &mut c, &name, &mut buf);
        out.push(Generated {
            path: PathBuf::from(format!("man/completions/{dir}/{file}")),
            content: buf,
        });
    }
}

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_docs_are_fresh() {
        let root = repo_root();
        let mut stale = Vec::new();
        for g in render_all() {
            let on_disk = std::fs::read(root.join(&g.path)).unwrap_or_default();
            if on_disk != g.content {
                stale.push(g.path.display().to_string());
            }
        }
        assert!(
            stale.is_empty(),
            "generated docs are stale, run `cargo xtask man`: {stale:?}"
        );
    }

    #[test]
    fn every_tool_has_a_man_page_with_exit_status() {
        for g in render_all().iter().filter(|g| g.path.starts_with("man/man1")) {
            let text = String::from_utf8_lossy(&g.content);
            assert!(text.contains("EXIT STATUS"), "{}", g.path.display());
        }
    }
}
