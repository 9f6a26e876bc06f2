//! The only place that reads the process environment, so resolution rules
//! live in one module and tests can inject a fixed environment.

use std::collections::BTreeMap;
use std::path::PathBuf;

/// A view of environment variables: the real one, or a fixed map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    fixed: Option<BTreeMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Env {
        Env { fixed: None }
    }

    /// A fixed environment (tests).
    pub fn fixed<I, K, V>(vars: I) -> Env
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Env {
            fixed: Some(vars.into_iter().map(|(k, v)| (k.into(), v.into())).collect()),
        }
    }

    /// A variable's value; empty values count as unset, as in libpq.
    pub fn get(&self, key: &str) -> Option<String> {
        let v = match &self.fixed {
            Some(m) => m.get(key).cloned(),
            None => std::env::var(key).ok(),
        };
        v.filter(|s| !s.is_empty())
    }

    /// The user's home directory (`HOME`, else the password database).
    pub fn home(&self) -> Option<PathBuf> {
        if let Some(h) = self.get("HOME") {
            return Some(PathBuf::from(h));
        }
        if self.fixed.is_some() {
            return None;
        }
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.dir)
    }

    /// Where per-user state lives (`$XDG_STATE_HOME/sw` when absolute, else
    /// `~/.local/state/sw`, else `/var/tmp/sw`).
    pub fn state_dir(&self) -> PathBuf {
        if let Some(x) = self.get("XDG_STATE_HOME").filter(|s| s.starts_with('/')) {
            return PathBuf::from(x).join("sw");
        }
        match self.home() {
            Some(h) => h.join(".local/state/sw"),
            None => PathBuf::from("/var/tmp/sw"),
        }
    }

    /// The effective OS user's name (libpq's default database user).
    pub fn os_user_name(&self) -> Option<String> {
        if let Some(u) = self.get("USER") {
            return Some(u);
        }
        if self.fixed.is_some() {
            return None;
        }
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
    }
}
