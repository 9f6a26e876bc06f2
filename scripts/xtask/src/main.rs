//! `cargo xtask man` regenerates man pages, completions and record schemas
//! into `man/` and `schemas/`; `cargo xtask check` fails when they are stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    match cmd.as_str() {
        "man" | "schemas" => match write_all() {
            Ok(()) => ExitCode::SUCCESS,
            Err((code, msg)) => {
                eprintln!("xtask: error: {msg}");
                ExitCode::from(code)
            }
        },
        "check" => match xtask::stale() {
            Ok(stale) if stale.is_empty() => ExitCode::SUCCESS,
            Ok(stale) => {
                eprintln!(
                    "xtask: error: stale generated docs (run `cargo xtask man`): {}",
                    stale.join(", ")
                );
                ExitCode::from(1)
            }
            Err(e) => {
                eprintln!("xtask: error: {e}");
                ExitCode::from(70)
            }
        },
        _ => {
            eprintln!("usage: cargo xtask man|check");
            ExitCode::from(64)
        }
    }
}

/// Render everything first, then replace the generated directories, so a
/// render failure leaves the checked-in files as they were.
fn write_all() -> Result<(), (u8, String)> {
    let root = xtask::repo_root();
    let all = xtask::render_all().map_err(|e| (70, e))?;
    for dir in xtask::GENERATED_DIRS {
        let _ = std::fs::remove_dir_all(root.join(dir));
    }
    for g in all {
        let p = root.join(&g.path);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).map_err(|e| (73, format!("creating {}: {e}", d.display())))?;
        }
        std::fs::write(&p, &g.content).map_err(|e| (74, format!("writing {}: {e}", p.display())))?;
    }
    Ok(())
}
