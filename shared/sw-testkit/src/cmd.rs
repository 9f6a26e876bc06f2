//! Running the tools' binaries in tests and reading their output.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// The result of running a binary.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The program's file name (`sw-backup`), when known.
    pub tool: Option<String>,
}

impl Run {
    /// Parse stdout as JSON Lines (panics with the output on failure).
    pub fn records(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}\n{self:?}")))
            .collect()
    }

    /// The only record of `kind` (panics unless exactly one).
    pub fn one(&self, kind: &str) -> Value {
        let v: Vec<Value> = self.records().into_iter().filter(|r| r["kind"] == kind).collect();
        assert_eq!(v.len(), 1, "expected one {kind} record\n{self:?}");
        v.into_iter().next().unwrap()
    }

    /// Panic unless the run exited with `code` and wrote exactly one line on
    /// stderr, `<tool>: <level>: <prefix>...` (level error, warning,
    /// critical or unknown), the form every sw error takes.
    #[track_caller]
    pub fn expect_error(&self, code: i32, prefix: &str) -> &Run {
        self.expect_code(code);
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "expected one line on stderr\n{self:?}");
        let mut rest = lines[0];
        if let Some(tool) = &self.tool {
            rest = rest
                .strip_prefix(tool.as_str())
                .and_then(|r| r.strip_prefix(": "))
                .unwrap_or_else(|| panic!("stderr does not start with {tool:?}: {}", lines[0]));
            rest = ["error: ", "warning: ", "critical: ", "unknown: "]
                .iter()
                .find_map(|l| rest.strip_prefix(l))
                .unwrap_or_else(|| panic!("stderr has no level after the tool name: {}", lines[0]));
        }
        assert!(
            rest.starts_with(prefix),
            "stderr {:?} does not start with {prefix:?}",
            lines[0]
        );
        self
    }

    /// Panic with the whole output unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    /// A run whose program is not known: its records are not validated;
    /// prefer [`Run::of`].
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            tool: None,
        }
    }
}

impl Run {
    /// A finished run of `program`; every record an sw tool printed is
    /// checked against its checked-in JSON Schema (panics on a mismatch or
    /// on a kind without a schema).
    pub fn of(program: &std::ffi::OsStr, o: &Output) -> Run {
        let tool = Path::new(program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| n.starts_with("sw-"));
        let run = Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
            tool,
        };
        // sw-monitor relays sw-alerts' records (the scripts' own kinds are in
        // schemas/sw-maintenance/).
        if let Some(t) = run.tool.as_deref().filter(|t| *t != "sw-monitor") {
            crate::schema::validate_stdout(t, &run.stdout);
        }
        run
    }
}

/// A command for a binary with a clean environment: no DATABASE_URL or PG*
/// variables leak in from the developer's shell.
pub fn command(bin: &Path) -> Command {
    let mut c = Command::new(bin);
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if k.starts_with("PG") || k == "DATABASE_URL" || k.starts_with("SW_") {
            c.env_remove(&k);
        }
    }
    c
}

/// Run a binary with args and optional stdin.
pub fn run(bin: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    run_cmd(command(bin).args(args), stdin)
}

/// Run a prepared command with optional stdin.
pub fn run_cmd(c: &mut Command, stdin: Option<&str>) -> Run {
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawning {c:?}: {e}"));
    if let Some(input) = stdin {
        let mut si = child.stdin.take().unwrap();
        let input = input.to_owned();
        std::thread::spawn(move || {
            let _ = si.write_all(input.as_bytes());
        });
    }
    let out = child.wait_with_output().unwrap();
    Run::of(c.get_program(), &out)
}

/// Run a binary copied a moment ago: exec can fail with ETXTBSY while a
/// parallel test's fork still holds the copy's write descriptor; retry then.
pub fn run_copied(bin: &Path, args: &[&str]) -> Run {
    for _ in 0..50 {
        match command(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
        {
            Ok(o) => return Run::of(bin.as_os_str(), &o),
            Err(e) if e.raw_os_error() == Some(26) => std::thread::sleep(std::time::Duration::from_millis(100)),
            Err(e) => panic!("running {}: {e}", bin.display()),
        }
    }
    panic!("{} stayed busy (ETXTBSY)", bin.display());
}

/// Copy binaries into `dir` (created) as `(source, name)` pairs, mode 0755,
/// and hand `dir` over to the server's OS user, so the server can run them
/// even when the checkout is private. Returns the copies' paths in order.
pub fn install_for_server(
    runner: &sw_core::cluster::Runner,
    dir: &Path,
    bins: &[(&Path, &str)],
) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir).unwrap();
    let copies: Vec<_> = bins
        .iter()
        .map(|(src, name)| {
            let dst = dir.join(name);
            std::fs::copy(src, &dst).unwrap_or_else(|e| panic!("copying {} to {}: {e}", src.display(), dst.display()));
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).unwrap();
            dst
        })
        .collect();
    runner.hand_over(dir).unwrap();
    copies
}

/// The binary `name` of workspace package `package` beside `bin` (a test's
/// own `CARGO_BIN_EXE_*`), built first when a lone `cargo test -p X` did not
/// build it.
pub fn sibling_bin(bin: &str, package: &str, name: &str) -> std::path::PathBuf {
    // One build at a time: parallel tests wait for the first.
    static BUILD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let p = Path::new(bin).parent().unwrap().join(name);
    if !p.exists() {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-p", package])
            .status()
            .unwrap();
        assert!(st.success(), "building {package}");
    }
    p
}
