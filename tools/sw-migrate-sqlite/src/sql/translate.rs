//! The token-level translator from SQLite expressions to PostgreSQL, for
//! the schema SQL that carries expressions (CHECK, defaults, index
//! expressions and WHERE clauses, views). Names are mapped through a
//! [`NameMap`]; whatever has another meaning in PostgreSQL (LIKE, GLOB,
//! CAST to INTEGER, a negative substr start, ...) is refused with the reason.

use sw_core::pg::{quote_ident, quote_literal};

use super::names::NameMap;
use super::token::{Tok, group, split_commas};

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
    let mut tr = Translator {
        toks,
        map,
        out: Vec::new(),
        i: 0,
        last_bool_cmp: false,
    };
    while tr.i < toks.len() {
        let step = match &toks[tr.i] {
            Tok::Ident { text, quoted } => tr.ident(text, *quoted)?,
            other => Step::Next(tr.other(other)?),
        };
        if let Step::Next(bool_cmp) = step {
            tr.last_bool_cmp = bool_cmp;
            tr.i += 1;
        }
    }
    Ok(join(&tr.out))
}

/// What a token's translation did to the walk.
enum Step {
    /// Advance by one token; `true` while inside `<boolean column> <comparison>`.
    Next(bool),
    /// The position (and the boolean-comparison state) was set already.
    Moved,
}

struct Translator<'a> {
    toks: &'a [Tok],
    map: &'a NameMap,
    out: Vec<String>,
    i: usize,
    /// The previous tokens were `<boolean column> <comparison>`: a 0 or 1
    /// next is `false`/`true`.
    last_bool_cmp: bool,
}

impl Translator<'_> {
    fn ident(&mut self, text: &str, quoted: bool) -> Result<Step, String> {
        let lower = text.to_lowercase();
        let next = self.toks.get(self.i + 1);
        if !quoted && next == Some(&Tok::LParen) {
            return self.call(text, &lower);
        }
        if !quoted && let Some(step) = self.word(&lower, next)? {
            return Ok(step);
        }
        if let Some(pg) = self.map.names.get(&lower) {
            self.out.push(quote_ident(pg));
            let cmp = self.map.booleans.contains(&lower)
                && matches!(next, Some(Tok::Op(op)) if matches!(op.as_str(), "=" | "==" | "!=" | "<>"));
            return Ok(Step::Next(cmp));
        }
        if quoted {
            self.out.push(quote_ident(text));
        } else if self.i > 0 && self.toks[self.i - 1].is_kw("as") {
            // A column alias keeps its case; CAST(x AS type) gets the PostgreSQL type.
            self.out.push(match lower.as_str() {
                "integer" | "int" => "bigint".into(),
                "text" => "text".into(),
                "real" => "double precision".into(),
                "numeric" => "numeric".into(),
                "blob" => "bytea".into(),
                _ => quote_ident(text),
            });
        } else {
            self.out.push(text.to_owned());
        }
        Ok(Step::Next(false))
    }

    /// A function call `name(...)`.
    fn call(&mut self, name: &str, lower: &str) -> Result<Step, String> {
        match lower {
            "group_concat" => self.group_concat(),
            "substr" | "substring" => self.substr(),
            "cast" => {
                let (args, _) = group(self.toks, self.i + 1).ok_or("unbalanced parentheses")?;
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
                self.out.push("CAST".into());
                Ok(Step::Next(false))
            }
            _ => match function(name) {
                Some(f) => {
                    self.out.push(f.to_owned());
                    Ok(Step::Next(false))
                }
                None => Err(format!("function {name}() has no known PostgreSQL equivalent")),
            },
        }
    }

    /// group_concat(x [, sep]) -> string_agg(x::text, sep), ',' by default.
    fn group_concat(&mut self) -> Result<Step, String> {
        let (args, after) = group(self.toks, self.i + 1).ok_or("unbalanced parentheses")?;
        let parts = split_commas(args);
        let (x, sep) = match parts.as_slice() {
            [x] => (translate(x, self.map)?, "','".to_owned()),
            [x, sep] => (translate(x, self.map)?, translate(sep, self.map)?),
            _ => return Err("group_concat with DISTINCT or more arguments is not translated".into()),
        };
        if x.to_lowercase().starts_with("distinct") {
            return Err("group_concat(DISTINCT ...) is not translated".into());
        }
        self.out.push(format!("string_agg(({x})::text, {sep})"));
        self.i = after;
        self.last_bool_cmp = false;
        Ok(Step::Moved)
    }

    /// Same meaning only for a positive start and a length >= 0 (SQLite
    /// counts a negative start from the end).
    fn substr(&mut self) -> Result<Step, String> {
        let (args, after) = group(self.toks, self.i + 1).ok_or("unbalanced parentheses")?;
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
        self.out
            .push(format!("substr({}, {})", translate(x, self.map)?, rest.join(", ")));
        self.i = after;
        self.last_bool_cmp = false;
        Ok(Step::Moved)
    }

    /// Operator words and keywords; `None` for any other word (a name).
    fn word(&mut self, lower: &str, next: Option<&Tok>) -> Result<Option<Step>, String> {
        match lower {
            "glob" | "regexp" | "match" => Err(format!(
                "operator {} has no exact PostgreSQL equivalent",
                lower.to_uppercase()
            )),
            // Translating it as is would change which rows match.
            "like" => Err(
                "LIKE ignores ASCII case and has no escape character in SQLite; PostgreSQL's LIKE does neither".into(),
            ),
            "is" => Ok(Some(self.is(next))),
            "collate" => {
                let coll = next.and_then(Tok::ident).unwrap_or("").to_lowercase();
                match coll.as_str() {
                    "nocase" => self.out.push("COLLATE \"sw_nocase\"".into()),
                    "binary" => self.out.push("COLLATE \"C\"".into()),
                    _ => return Err(format!("collation {coll} has no PostgreSQL equivalent")),
                }
                self.i += 2;
                Ok(Some(Step::Moved))
            }
            _ if KEYWORDS.contains(&lower) => {
                self.out.push(lower.to_uppercase());
                Ok(Some(Step::Next(false)))
            }
            _ => Ok(None),
        }
    }

    /// SQLite's IS compares any values, NULL-safe: IS [NOT] DISTINCT FROM.
    fn is(&mut self, next: Option<&Tok>) -> Step {
        let simple = |t: Option<&Tok>| t.is_some_and(|n| n.is_kw("null") || n.is_kw("true") || n.is_kw("false"));
        if simple(next) {
            self.out.push("IS".into());
        } else if next.is_some_and(|n| n.is_kw("not")) {
            if simple(self.toks.get(self.i + 2)) {
                self.out.push("IS".into());
            } else {
                self.out.push("IS DISTINCT FROM".into());
                self.i += 2;
                self.last_bool_cmp = false;
                return Step::Moved;
            }
        } else {
            self.out.push("IS NOT DISTINCT FROM".into());
        }
        Step::Next(false)
    }

    /// Any token but a word; returns whether a boolean comparison goes on.
    fn other(&mut self, t: &Tok) -> Result<bool, String> {
        match t {
            Tok::Str(s) => self.out.push(quote_literal(s)),
            Tok::Num(n) => {
                if self.last_bool_cmp && (n == "0" || n == "1") {
                    self.out.push(if n == "1" { "true" } else { "false" }.into());
                } else if n.starts_with("0x") || n.starts_with("0X") {
                    return Err("hexadecimal literals are not translated".into());
                } else {
                    self.out.push(n.clone());
                }
            }
            Tok::Blob(h) => self.out.push(format!("'\\x{h}'::bytea")),
            Tok::Op(o) => {
                match o.as_str() {
                    "==" => self.out.push("=".into()),
                    "." | "%" | "+" | "-" | "*" | "/" | "=" | "!=" | "<>" | "<" | ">" | "<=" | ">=" | "||" | "~" => {
                        self.out.push(o.clone());
                    }
                    other => return Err(format!("operator {other} is not translated")),
                }
                return Ok(self.last_bool_cmp);
            }
            Tok::LParen => self.out.push("(".into()),
            Tok::RParen => self.out.push(")".into()),
            Tok::Comma => self.out.push(",".into()),
            Tok::Param => return Err("bound parameters cannot appear in schema SQL".into()),
            Tok::Ident { .. } => return Err("a word outside a name position".into()),
        }
        Ok(false)
    }
}

/// Join the pieces without spaces around dots and inside parentheses.
fn join(out: &[String]) -> String {
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
    s
}

fn is_word(s: &str) -> bool {
    s.chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_') && !KEYWORDS.contains(&s.to_lowercase().as_str())
        || s.ends_with('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::tokenize;

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
