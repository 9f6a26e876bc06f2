//! Renders every tool's man pages, shell completions and record schemas
//! from its clap definition (`command()`) and its contract (`docs()`: the
//! exit codes and record kinds of each command), so the docs never drift
//! from the code. The output is committed under `man/` and `schemas/`; a
//! test fails when it is stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Command;

pub mod scripts;
use sw_core::contract::{CommandDoc, KindDoc};

/// Every tool: its clap definition and its commands' contracts.
pub fn tools() -> Vec<(Command, Vec<CommandDoc>)> {
    vec![
        (sw_health::command(), sw_health::docs()),
        (sw_backup::command(), sw_backup::docs()),
        (sw_restore::command(), sw_restore::docs()),
        (sw_alerts::command(), sw_alerts::docs()),
        (sw_provision::command(), sw_provision::docs()),
        (sw_vacuum::command(), sw_vacuum::docs()),
        (sw_migrate_sqlite::command(), sw_migrate_sqlite::docs()),
        (sw_schema::command(), sw_schema::docs()),
    ]
}

/// A generated file: path relative to the repository root, and content.
pub struct Generated {
    pub path: PathBuf,
    pub content: Vec<u8>,
}

/// Render all man pages (one per command and subcommand), completions and
/// schemas.
///
/// # Errors
/// A page that fails to render, or two different schemas for one kind of
/// one tool.
pub fn render_all() -> Result<Vec<Generated>, String> {
    let mut out = Vec::new();
    for (cmd, docs) in tools() {
        let mut cmd = cmd;
        cmd.build();
        let name = cmd.get_name().to_owned();
        let docs: BTreeMap<String, CommandDoc> = docs.into_iter().map(|d| (d.command.clone(), d)).collect();
        man_pages(&cmd, &name, &docs, &mut out)?;
        completions(&cmd, &mut out);
        let kinds = docs.values().flat_map(|d| d.records.iter().cloned());
        schemas(&name, kinds, &mut out)?;
    }
    for (script, kinds) in scripts::scripts() {
        schemas(script, kinds.into_iter(), &mut out)?;
    }
    Ok(out)
}

fn man_pages(
    cmd: &Command,
    bin: &str,
    docs: &BTreeMap<String, CommandDoc>,
    out: &mut Vec<Generated>,
) -> Result<(), String> {
    let page = bin.replace(' ', "-");
    let mut buf = Vec::new();
    let man = clap_mangen::Man::new(cmd.clone().display_name(&page).bin_name(bin))
        .title(page.to_uppercase())
        .section("1")
        .source(format!("sw {}", env!("CARGO_PKG_VERSION")))
        .manual("sw manual");
    man.render(&mut buf)
        .map_err(|e| format!("rendering the man page of {bin}: {e}"))?;
    let doc = docs
        .get(bin)
        .ok_or_else(|| format!("{bin} has no CommandDoc in its tool's docs(): add its exit codes and records"))?;
    if doc.exits.is_empty() {
        return Err(format!("{bin}'s CommandDoc lists no exit codes"));
    }
    buf.extend_from_slice(extra_sections(doc).as_bytes());
    out.push(Generated {
        path: PathBuf::from(format!("man/man1/{page}.1")),
        content: buf,
    });
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        man_pages(sub, &format!("{bin} {}", sub.get_name()), docs, out)?;
    }
    Ok(())
}

fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('-', "\\-")
}

fn extra_sections(d: &CommandDoc) -> String {
    let mut s = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in &d.exits {
        let _ = write!(s, ".TP\n\\fB{code}\\fR\n{}\n", roff_escape(meaning));
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
        let _ = write!(s, ".TP\n\\fB{}\\fR\n{}\n", roff_escape(k), v);
    }
    s.push_str(".SH \"JSON OUTPUT\"\nResults go to stdout as JSON Lines: one object per line, each with \\fBkind\\fR and \\fBschema\\fR fields first; an absent value is \\fBnull\\fR, never a missing field. Logs and errors go to stderr as single lines prefixed with the program name; passwords are never printed.\n");
    if d.records.is_empty() {
        s.push_str("This command prints no records.\n");
    }
    for k in &d.records {
        json_output_kind(&mut s, k);
    }
    s
}

fn json_output_kind(s: &mut String, k: &KindDoc) {
    let _ = write!(
        s,
        ".SS \"{}\" (schema {})\n{}\n",
        k.kind,
        k.version,
        roff_escape(first_line(k.description()))
    );
    for (name, ty, about) in k.fields() {
        let _ = write!(
            s,
            ".TP\n\\fB{}\\fR \\fI{}\\fR\n{}\n",
            roff_escape(&name),
            roff_escape(&ty),
            roff_escape(first_line(&about))
        );
    }
}

fn first_line(s: &str) -> &str {
    s.split("\n\n").next().unwrap_or("").trim()
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

/// One schema file per record kind a tool prints: `schemas/<tool>/<kind>.json`.
fn schemas(tool: &str, all: impl Iterator<Item = KindDoc>, out: &mut Vec<Generated>) -> Result<(), String> {
    let mut kinds: BTreeMap<&str, KindDoc> = BTreeMap::new();
    for k in all {
        if let Some(prev) = kinds.get(k.kind)
            && prev.schema != k.schema
        {
            return Err(format!("{tool} documents two different schemas for kind {}", k.kind));
        }
        kinds.insert(k.kind, k);
    }
    for (kind, k) in kinds {
        let mut text = serde_json::to_string_pretty(&k.schema).map_err(|e| format!("rendering {kind}: {e}"))?;
        text.push('\n');
        out.push(Generated {
            path: PathBuf::from(format!("schemas/{tool}/{kind}.json")),
            content: text.into_bytes(),
        });
    }
    Ok(())
}

/// The generated directories, each removed before regenerating.
pub const GENERATED_DIRS: &[&str] = &["man/man1", "man/completions", "schemas"];

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Generated files that differ from the checked-in ones, and checked-in
/// files under the generated directories that nothing generates any more.
///
/// # Errors
/// When rendering fails.
pub fn stale() -> Result<Vec<String>, String> {
    let root = repo_root();
    let all = render_all()?;
    let mut stale: Vec<String> = all
        .iter()
        .filter(|g| std::fs::read(root.join(&g.path)).ok().as_deref() != Some(g.content.as_slice()))
        .map(|g| g.path.display().to_string())
        .collect();
    let wanted: std::collections::BTreeSet<PathBuf> = all.into_iter().map(|g| g.path).collect();
    for dir in GENERATED_DIRS {
        for f in walk(&root.join(dir)) {
            let rel = f.strip_prefix(&root).unwrap_or(&f).to_path_buf();
            if !wanted.contains(&rel) {
                stale.push(format!("{} (no longer generated)", rel.display()));
            }
        }
    }
    Ok(stale)
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else { return out };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_docs_are_fresh() {
        let stale = stale().unwrap();
        assert!(
            stale.is_empty(),
            "generated docs are stale, run `cargo xtask man`: {stale:?}"
        );
    }

    fn commands(cmd: &Command, bin: &str, out: &mut Vec<String>) {
        out.push(bin.to_owned());
        for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
            commands(sub, &format!("{bin} {}", sub.get_name()), out);
        }
    }

    #[test]
    fn every_page_has_exit_status_and_a_synopsis_naming_the_command() {
        let all = render_all().unwrap();
        let mut bins = Vec::new();
        for (cmd, _) in tools() {
            let name = cmd.get_name().to_owned();
            commands(&cmd, &name, &mut bins);
        }
        for bin in bins {
            let path = PathBuf::from(format!("man/man1/{}.1", bin.replace(' ', "-")));
            let page = all
                .iter()
                .find(|g| g.path == path)
                .unwrap_or_else(|| panic!("no page {}", path.display()));
            let text = String::from_utf8_lossy(&page.content);
            assert!(text.contains(".SH \"EXIT STATUS\""), "{}", path.display());
            let want = format!(".SH SYNOPSIS\n\\fB{}\\fR", roff_escape(&bin));
            assert!(text.contains(&want), "{}: want {want:?}", path.display());
        }
    }

    #[test]
    fn every_command_doc_names_a_real_command() {
        for (cmd, docs) in tools() {
            let mut bins = Vec::new();
            let name = cmd.get_name().to_owned();
            commands(&cmd, &name, &mut bins);
            for d in docs {
                assert!(
                    bins.contains(&d.command),
                    "docs() names {:?}, which is not a command",
                    d.command
                );
            }
        }
    }

    #[test]
    fn every_record_kind_follows_the_field_rule() {
        let mut broken = Vec::new();
        for (_, docs) in tools() {
            for d in docs {
                for k in &d.records {
                    broken.extend(k.rule_violations());
                }
            }
        }
        for (_, kinds) in scripts::scripts() {
            for k in kinds {
                broken.extend(k.rule_violations());
            }
        }
        broken.sort();
        broken.dedup();
        assert!(broken.is_empty(), "{broken:#?}");
    }

    #[test]
    fn backup_list_synopsis_names_the_program() {
        let all = render_all().unwrap();
        let page = all
            .iter()
            .find(|g| g.path == std::path::Path::new("man/man1/sw-backup-list.1"))
            .unwrap();
        let text = String::from_utf8_lossy(&page.content);
        assert!(text.contains(".SH SYNOPSIS\n\\fBsw\\-backup list\\fR"), "{text}");
    }
}
