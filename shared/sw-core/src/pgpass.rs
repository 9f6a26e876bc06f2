//! `~/.pgpass` lookup with libpq's rules: `host:port:db:user:password`
//! lines, `*` wildcards, `\:` and `\\` escapes, first match wins, a socket
//! host matches `localhost`, and a file readable by group or others is
//! ignored with a warning (libpq does the same).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Find the password for a connection in a passfile.
pub fn lookup(path: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.mode() & 0o077 != 0 {
        log::warn!(
            "password file {:?} has group or world access; permissions should be u=rw (0600) or less; ignoring it",
            path.display().to_string()
        );
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let host = if host.starts_with('/') { "localhost" } else { host };
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_fields(line);
        if fields.len() < 5 {
            continue;
        }
        let m = |pat: &str, v: &str| pat == "*" || pat == v;
        if m(&fields[0], host) && m(&fields[1], &port) && m(&fields[2], db) && m(&fields[3], user) {
            let pw = fields[4..].join(":");
            crate::secret::register(&pw);
            return Some(pw);
        }
    }
    None
}

fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next()
                    && let Some(last) = fields.last_mut()
                {
                    last.push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn matches_with_wildcards_and_escapes() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("pgpass");
        std::fs::write(
            &p,
            "# c\nother:5432:*:*:nope\nlocalhost:*:app:u:pa\\:ss:word\n*:*:*:*:fallback\n",
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&p, "/run/pg", 5432, "app", "u").as_deref(), Some("pa:ss:word"));
        assert_eq!(lookup(&p, "db", 1, "x", "y").as_deref(), Some("fallback"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(lookup(&p, "db", 1, "x", "y"), None);
    }
}
