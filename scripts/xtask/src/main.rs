//! `cargo xtask man` regenerates man pages and completions into `man/`;
//! `cargo xtask check` fails when they are stale.

use std::process::ExitCode;

fn main() -> ExitCode {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    let root = xtask::repo_root();
    match cmd.as_str() {
        "man" => {
            let _ = std::fs::remove_dir_all(root.join("man/man1"));
            let _ = std::fs::remove_dir_all(root.join("man/completions"));
            for g in xtask::render_all() {
                let p = root.join(&g.path);
                if let Some(d) = p.parent()
                    && let Err(e) = std::fs::create_dir_all(d)
                {
                    eprintln!("xtask: error: creating {}: {e}", d.display());
                    return ExitCode::from(73);
                }
                if let Err(e) = std::fs::write(&p, &g.content) {
                    eprintln!("xtask: error: writing {}: {e}", p.display());
                    return ExitCode::from(74);
                }
            }
            ExitCode::SUCCESS
        }
        "check" => {
            let stale: Vec<String> = xtask::render_all()
                .into_iter()
                .filter(|g| std::fs::read(root.join(&g.path)).unwrap_or_default() != g.content)
                .map(|g| g.path.display().to_string())
                .collect();
            if stale.is_empty() {
                ExitCode::SUCCESS
            } else {
                eprintln!(
                    "xtask: error: stale generated docs (run `cargo xtask man`): {}",
                    stale.join(", ")
                );
                ExitCode::from(1)
            }
        }
        _ => {
            eprintln!("usage: cargo xtask man|check");
            ExitCode::from(64)
        }
    }
}
