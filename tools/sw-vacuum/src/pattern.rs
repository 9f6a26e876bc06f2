//! Include/exclude patterns: shell globs (`*`, `?`) matched against a
//! database name, or against `schema.table` (a pattern without a dot
//! matches the table name in any schema).

/// A glob match over characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Include and exclude lists: included when no include is given or one
/// matches, and no exclude matches.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl Filter {
    /// For database names.
    pub fn database(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| glob(p, name)))
            && !self.exclude.iter().any(|p| glob(p, name))
    }

    /// For tables.
    pub fn table(&self, schema: &str, table: &str) -> bool {
        let m = |p: &String| {
            if p.contains('.') {
                glob(p, &format!("{schema}.{table}"))
            } else {
                glob(p, table)
            }
        };
        (self.include.is_empty() || self.include.iter().any(m)) && !self.exclude.iter().any(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("*", ""));
        assert!(glob("app_*", "app_prod"));
        assert!(!glob("app_*", "xapp_prod"));
        assert!(glob("a?c*", "abcdef"));
        assert!(glob("*log*", "audit_log_2024"));
        assert!(!glob("t", "tt"));
    }

    #[test]
    fn filters() {
        let f = Filter {
            include: vec!["public.*".into(), "events".into()],
            exclude: vec!["*_tmp".into()],
        };
        assert!(f.table("public", "orders"));
        assert!(f.table("audit", "events"));
        assert!(!f.table("audit", "orders"));
        assert!(!f.table("public", "x_tmp"));
        let d = Filter {
            include: vec![],
            exclude: vec!["template*".into()],
        };
        assert!(d.database("app") && !d.database("template1"));
    }
}
