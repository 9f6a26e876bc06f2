//! A small SQLite SQL tokenizer and a token-level translator to PostgreSQL
//! for the pieces of schema SQL that carry expressions (CHECK, defaults,
//! index expressions and WHERE clauses, views). Whatever it cannot
//! translate with confidence is refused with a reason, never guessed.

use std::collections::{HashMap, HashSet};

use md5::{Digest, Md5};
use sw_core::pg::quote_ident;

/// One token of SQLite SQL.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// An identifier or keyword; `quoted` when written as "x", [x] or `x`.
    Ident {
        text: String,
        quoted: bool,
    },
    /// A string literal (unescaped).
    Str(String),
    /// A numeric literal as written.
    Num(String),
    /// A blob literal (hex digits).
    Blob(String),
    /// An operator or punctuation other than parentheses and commas.
    Op(String),
    LParen,
    RParen,
    Comma,
    /// A bound parameter (?, :x, @x, $x): never valid in schema SQL.
    Param,
}

impl Tok {
    /// Is this the bare keyword `kw` (case-insensitive)?
    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident { text, quoted: false } if text.eq_ignore_ascii_case(kw))
    }
    /// The identifier text, quoted or not.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Tok::Ident { text, .. } => Some(text),
            _ => None,
        }
    }
}

/// Split SQLite SQL into tokens (comments and whitespace dropped).
pub fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = sql.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '-' && b.get(i + 1) == Some(&'-') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                i += 1;
            }
            i += 2;
        } else if c == '\'' || c == '"' || c == '`' || c == '[' {
            let close = if c == '[' { ']' } else { c };
            let mut s = String::new();
            i += 1;
            loop {
                match b.get(i) {
                    None => return Err("unterminated quoted text".into()),
                    Some(&ch) if ch == close => {
                        if close != ']' && b.get(i + 1) == Some(&close) {
                            s.push(close);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            if c == '\'' {
                out.push(Tok::Str(s));
            } else {
                out.push(Tok::Ident { text: s, quoted: true });
            }
        } else if (c == 'x' || c == 'X') && b.get(i + 1) == Some(&'\'') {
            let start = i + 2;
            let mut j = start;
            while j < b.len() && b[j] != '\'' {
                j += 1;
            }
            out.push(Tok::Blob(b[start..j.min(b.len())].iter().collect()));
            i = j + 1;
        } else if c.is_ascii_digit() || (c == '.' && b.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            if c == '0' && matches!(b.get(i + 1), Some('x' | 'X')) {
                i += 2;
                while i < b.len() && b[i].is_ascii_hexdigit() {
                    i += 1;
                }
            } else {
                while i < b.len() && (b[i].is_ascii_digit() || b[i] == '.') {
                    i += 1;
                }
                if i < b.len() && (b[i] == 'e' || b[i] == 'E') {
                    i += 1;
                    if i < b.len() && (b[i] == '+' || b[i] == '-') {
                        i += 1;
                    }
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
            }
            out.push(Tok::Num(b[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' || !c.is_ascii() {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$' || !b[i].is_ascii()) {
                i += 1;
            }
            out.push(Tok::Ident {
                text: b[start..i].iter().collect(),
                quoted: false,
            });
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if c == '?' || c == ':' || c == '@' || c == '$' {
            i += 1;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Param);
        } else {
            let two: String = b[i..(i + 2).min(b.len())].iter().collect();
            let op = match two.as_str() {
                "==" | "!=" | "<>" | "<=" | ">=" | "||" | "<<" | ">>" => two,
                _ => c.to_string(),
            };
            i += op.chars().count();
            out.push(Tok::Op(op));
        }
    }
    Ok(out)
}

/// Split tokens at top-level commas.
pub fn split_commas(toks: &[Tok]) -> Vec<Vec<Tok>> {
    let mut out = vec![Vec::new()];
    let mut depth = 0i32;
    for t in toks {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => depth -= 1,
            Tok::Comma if depth == 0 => {
                out.push(Vec::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = out.last_mut() {
            last.push(t.clone());
        }
    }
    out.retain(|v| !v.is_empty());
    out
}

/// The tokens inside the parenthesised group starting at `open` (which must
/// be an LParen), and the index just after its closing parenthesis.
pub fn group(toks: &[Tok], open: usize) -> Option<(&[Tok], usize)> {
    if toks.get(open) != Some(&Tok::LParen) {
        return None;
    }
    let mut depth = 0;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::LParen => depth += 1,
            Tok::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some((&toks[open + 1..i], i + 1));
                }
            }
            _ => {}
        }
    }
    None
}

/// The longest name PostgreSQL keeps (NAMEDATALEN - 1).
pub const MAX_NAME: usize = 63;

/// Shorten a name to 63 bytes: a prefix cut at a character boundary plus
/// `_` and 8 hex digits of its MD5, so different long names stay different.
pub fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_owned();
    }
    let digest = Md5::digest(name.as_bytes());
    let hash: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let mut cut = MAX_NAME - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}_{hash}", &name[..cut])
}

/// Hands out PostgreSQL names in one namespace without collisions.
#[derive(Debug, Default)]
pub struct Names {
    used: HashSet<String>,
}

impl Names {
    /// Reserve `want` (shortened if needed); on a collision, append a counter.
    pub fn take(&mut self, want: &str) -> String {
        let base = shorten(want);
        if self.used.insert(base.clone()) {
            return base;
        }
        for n in 2.. {
            let suffix = format!("_{n}");
            let mut cut = (MAX_NAME - suffix.len()).min(base.len());
            while !base.is_char_boundary(cut) {
                cut -= 1;
            }
            let cand = format!("{}{suffix}", &base[..cut]);
            if self.used.insert(cand.clone()) {
                return cand;
            }
        }
        unreachable!("the counter is unbounded")
    }
}

/// What a translator knows about names: SQLite name (lower-cased) to the
/// PostgreSQL name, and which columns are boolean.
#[derive(Debug, Default, Clone)]
pub struct NameMap {
    pub names: HashMap<String, String>,
    pub booleans: HashSet<String>,
}

impl NameMap {
    pub fn add(&mut self, sqlite: &str, pg: &str) {
        self.names.entry(sqlite.to_lowercase()).or_insert_with(|| pg.to_owned());
    }
}

const KEYWORDS: &[&str] = &[
    "select",
    "from",
    "where",
    "join",
    "on",
    "as",
    "and",
    "or",
    "not",
    "order",
    "by",
    "group",
    "having",
    "limit",
    "offset",
    "union",
    "all",
    "inner",
    "left",
    "right",
    "outer",
    "cross",
    "natural",
    "using",
    "case",
    "when",
    "then",
    "else",
    "end",
    "is",
    "null",
    "like",
    "in",
    "between",
    "exists",
    "distinct",
    "asc",
    "desc",
    "collate",
    "cast",
    "true",
    "false",
    "current_timestamp",
    "current_date",
    "current_time",
    "escape",
    "except",
    "intersect",
    "values",
    "with",
    "full",
];

/// Functions with the same name and meaning in both systems (for the
/// argument types seen in schema SQL), or a simple rename.
fn function(name: &str) -> Option<&'static str> {
    Some(match name.to_lowercase().as_str() {
        "lower" => "lower",
        "upper" => "upper",
        "length" => "length",
        "abs" => "abs",
        "coalesce" => "coalesce",
        "ifnull" => "coalesce",
        "nullif" => "nullif",
        "trim" => "trim",
        "ltrim" => "ltrim",
        "rtrim" => "rtrim",
        "replace" => "replace",
        "substr" | "substring" => "substr",
        "instr" => "strpos",
        "count" => "count",
        "cast" => "CAST",
        "sum" => "sum",
        "avg" => "avg",
        "min" => "min",
        "max" => "max",
        _ => return None,
    })
}

/// Translate an expression (tokens) to PostgreSQL SQL.
///
/// # Errors
/// The reason it cannot be translated safely.
pub fn translate(toks: &[Tok], map: &NameMap) -> Result<String, String> {
    let mut out: Vec<String> = Vec::new();
    let mut last_bool_cmp = false; // previous tokens were <boolean column> <comparison>
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let next = toks.get(i + 1);
        let mut bool_cmp = false;
        match t {
            Tok::Ident { text, quoted } => {
                let lower = text.to_lowercase();
                if !quoted && next == Some(&Tok::LParen) && lower == "group_concat" {
                    // group_concat(x [, sep]) -> string_agg(x::text, sep), ',' by default.
                    let (args, after) = group(toks, i + 1).ok_or("unbalanced parentheses")?;
                    let parts = split_commas(args);
                    let (x, sep) = match parts.as_slice() {
                        [x] => (translate(x, map)?, "','".to_owned()),
                        [x, sep] => (translate(x, map)?, translate(sep, map)?),
                        _ => return Err("group_concat with DISTINCT or more arguments is not translated".into()),
                    };
                    if x.to_lowercase().starts_with("distinct") {
                        return Err("group_concat(DISTINCT ...) is not translated".into());
                    }
                    out.push(format!("string_agg(({x})::text, {sep})"));
                    i = after;
                    last_bool_cmp = false;
                    continue;
                } else if !quoted && next == Some(&Tok::LParen) && lower == "cast" {
                    let (args, _) = group(toks, i + 1).ok_or("unbalanced parentheses")?;
                    let target = args
                        .iter()
                        .rposition(|t| t.is_kw("as"))
                        .and_then(|p| args.get(p + 1))
                        .and_then(Tok::ident)
                        .unwrap_or("")
                        .to_lowercase();
                    if target.contains("int") {
                        return Err(
                            "CAST(... AS INTEGER) truncates reals and reads leading digits of text in SQLite; PostgreSQL rounds or fails"
                                .into(),
                        );
                    }
                    out.push("CAST".into());
                } else if !quoted && next == Some(&Tok::LParen) && matches!(lower.as_str(), "substr" | "substring") {
                    // Same meaning only for a positive start and a length >= 0
                    // (SQLite counts a negative start from the end).
                    let (args, after) = group(toks, i + 1).ok_or("unbalanced parentheses")?;
                    let parts = split_commas(args);
                    let lit = |p: &[Tok], min: u64| match p {
                        [Tok::Num(n)] => n.parse::<u64>().ok().filter(|v| *v >= min).map(|v| v.to_string()),
                        _ => None,
                    };
                    let found = match parts.as_slice() {
                        [x, a] => lit(a, 1).map(|a| (x, vec![a])),
                        [x, a, b] => lit(a, 1).zip(lit(b, 0)).map(|(a, b)| (x, vec![a, b])),
                        _ => None,
                    };
                    let Some((x, rest)) = found else {
                        return Err(
                            "substr() is translated only with a literal start >= 1 and length >= 0 (SQLite counts negative ones from the end)"
                                .into(),
                        );
                    };
                    out.push(format!("substr({}, {})", translate(x, map)?, rest.join(", ")));
                    i = after;
                    last_bool_cmp = false;
                    continue;
                } else if !quoted && next == Some(&Tok::LParen) {
                    match function(text) {
                        Some(f) => out.push(f.to_owned()),
                        None => return Err(format!("function {text}() has no known PostgreSQL equivalent")),
                    }
                } else if !quoted && (lower == "glob" || lower == "regexp" || lower == "match") {
                    return Err(format!(
                        "operator {} has no exact PostgreSQL equivalent",
                        lower.to_uppercase()
                    ));
                } else if !quoted && lower == "like" {
                    // Translating it as is would change which rows match.
                    return Err(
                        "LIKE ignores ASCII case and has no escape character in SQLite; PostgreSQL's LIKE does neither"
                            .into(),
                    );
                } else if !quoted && lower == "is" {
                    // SQLite's IS compares any values, NULL-safe: IS [NOT] DISTINCT FROM.
                    let simple =
                        |t: Option<&Tok>| t.is_some_and(|n| n.is_kw("null") || n.is_kw("true") || n.is_kw("false"));
                    if simple(next) {
                        out.push("IS".into());
                    } else if next.is_some_and(|n| n.is_kw("not")) {
                        if simple(toks.get(i + 2)) {
                            out.push("IS".into());
                        } else {
                            out.push("IS DISTINCT FROM".into());
                            i += 2;
                            last_bool_cmp = false;
                            continue;
                        }
                    } else {
                        out.push("IS NOT DISTINCT FROM".into());
                    }
                } else if !quoted && lower == "collate" {
                    let coll = next.and_then(Tok::ident).unwrap_or("").to_lowercase();
                    match coll.as_str() {
                        "nocase" => out.push("COLLATE \"sw_nocase\"".into()),
                        "binary" => out.push("COLLATE \"C\"".into()),
                        _ => return Err(format!("collation {coll} has no PostgreSQL equivalent")),
                    }
                    i += 2;
                    continue;
                } else if !quoted && KEYWORDS.contains(&lower.as_str()) {
                    out.push(lower.to_uppercase());
                } else if let Some(pg) = map.names.get(&lower) {
                    out.push(quote_ident(pg));
                    if map.booleans.contains(&lower)
                        && let Some(Tok::Op(op)) = next
                        && matches!(op.as_str(), "=" | "==" | "!=" | "<>")
                    {
                        bool_cmp = true;
                    }
                } else if *quoted {
                    out.push(quote_ident(text));
                } else if i > 0 && toks[i - 1].is_kw("as") {
                    // A column alias keeps its case; CAST(x AS type) gets the PostgreSQL type.
                    match lower.as_str() {
                        "integer" | "int" => out.push("bigint".into()),
                        "text" => out.push("text".into()),
                        "real" => out.push("double precision".into()),
                        "numeric" => out.push("numeric".into()),
                        "blob" => out.push("bytea".into()),
                        _ => out.push(quote_ident(text)),
                    }
                } else {
                    out.push(text.clone());
                }
            }
            Tok::Str(s) => out.push(sw_core::pg::quote_literal(s)),
            Tok::Num(n) => {
                if last_bool_cmp && (n == "0" || n == "1") {
                    out.push(if n == "1" { "true" } else { "false" }.into());
                } else if n.starts_with("0x") || n.starts_with("0X") {
                    return Err("hexadecimal literals are not translated".into());
                } else {
                    out.push(n.clone());
                }
            }
            Tok::Blob(h) => out.push(format!("'\\x{h}'::bytea")),
            Tok::Op(o) => {
                if last_bool_cmp {
                    bool_cmp = true;
                }
                match o.as_str() {
                    "==" => out.push("=".into()),
                    "." => {
                        out.push(".".into());
                    }
                    "%" | "+" | "-" | "*" | "/" | "=" | "!=" | "<>" | "<" | ">" | "<=" | ">=" | "||" | "~" => {
                        out.push(o.clone());
                    }
                    other => return Err(format!("operator {other} is not translated")),
                }
            }
            Tok::LParen => out.push("(".into()),
            Tok::RParen => out.push(")".into()),
            Tok::Comma => out.push(",".into()),
            Tok::Param => return Err("bound parameters cannot appear in schema SQL".into()),
        }
        last_bool_cmp = bool_cmp;
        i += 1;
    }
    // Join without spaces around dots and parentheses' insides.
    let mut s = String::new();
    for (k, piece) in out.iter().enumerate() {
        let prev = if k > 0 { out[k - 1].as_str() } else { "" };
        let tight = k == 0
            || piece == "."
            || prev == "."
            || piece == ")"
            || piece == ","
            || prev == "("
            || piece == "(" && is_word(prev);
        if !tight {
            s.push(' ');
        }
        s.push_str(piece);
    }
    Ok(s)
}

fn is_word(s: &str) -> bool {
    s.chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') && !KEYWORDS.contains(&s.to_lowercase().as_str())
        || s.ends_with('"')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        let t = tokenize("CREATE TABLE [a b](\"x\"\"y\" INT DEFAULT 'it''s', -- c\n z) ").unwrap();
        assert_eq!(
            t[2],
            Tok::Ident {
                text: "a b".into(),
                quoted: true
            }
        );
        assert_eq!(
            t[4],
            Tok::Ident {
                text: "x\"y".into(),
                quoted: true
            }
        );
        assert_eq!(t[7], Tok::Str("it's".into()));
    }

    #[test]
    fn shortening_keeps_names_apart() {
        let a = "a".repeat(70);
        let b = format!("{}b", "a".repeat(69));
        assert_eq!(shorten(&a).len(), 63);
        assert_ne!(shorten(&a), shorten(&b));
        let mut n = Names::default();
        assert_eq!(n.take("x"), "x");
        assert_eq!(n.take("x"), "x_2");
        let long = "é".repeat(40);
        assert!(shorten(&long).len() <= 63);
    }

    #[test]
    fn translates_and_refuses() {
        let mut m = NameMap::default();
        m.add("Id", "Id");
        m.add("active", "active");
        m.booleans.insert("active".into());
        let t = tokenize("id > 0 AND active == 1 AND lower(x) = 'a'").unwrap();
        assert_eq!(
            translate(&t, &m).unwrap(),
            "\"Id\" > 0 AND \"active\" = true AND lower(x) = 'a'"
        );
        let t = tokenize("a IS b AND c IS NOT d AND e IS NOT NULL").unwrap();
        assert_eq!(
            translate(&t, &m).unwrap(),
            "a IS NOT DISTINCT FROM b AND c IS DISTINCT FROM d AND e IS NOT NULL"
        );
        let t = tokenize("group_concat(x) || group_concat(x, '; ')").unwrap();
        assert_eq!(
            translate(&t, &m).unwrap(),
            "string_agg((x)::text, ',') || string_agg((x)::text, '; ')"
        );
        let t = tokenize("x GLOB 'a*'").unwrap();
        assert!(translate(&t, &m).is_err());
        let t = tokenize("printf('%d', x)").unwrap();
        assert!(translate(&t, &m).is_err());
        let t = tokenize("substr(name, 2, 3) || substr(name, 1)").unwrap();
        assert_eq!(translate(&t, &m).unwrap(), "substr(name, 2, 3) || substr(name, 1)");
        for e in [
            "substr(name, -2)",
            "substr(name, 0, 2)",
            "substr(name, 1, -1)",
            "substr(name, n)",
            "substr()",
        ] {
            assert!(translate(&tokenize(e).unwrap(), &m).is_err(), "{e}");
        }
        assert!(translate(&tokenize("CAST(r AS INTEGER)").unwrap(), &m).is_err());
        assert_eq!(
            translate(&tokenize("CAST(r AS TEXT)").unwrap(), &m).unwrap(),
            "CAST (r AS text)"
        );
        let t = tokenize("name NOT LIKE 'a%'").unwrap();
        assert!(translate(&t, &m).unwrap_err().contains("LIKE"));
    }
}
