//! Splitting a migration file into statements, and the tokens of each.
//!
//! Migrations run one statement at a time (simple query protocol), so each
//! statement can get its own timeouts, its own duration and lock report, and
//! a failure names the statement and its line. The splitter knows what
//! PostgreSQL's lexer knows about where a `;` does not end a statement:
//! quoted strings (`'...'`, `E'...'` with backslash escapes), quoted
//! identifiers, dollar-quoted bodies (`$fn$ ... $fn$`), `--` and nested
//! `/* */` comments, and SQL-standard function bodies (`BEGIN ATOMIC ...
//! END`). A psql meta-command (`\set`, `\i`) is not SQL and is refused.

use std::fmt;

/// One lexical token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A keyword or unquoted identifier, as written.
    Word(String),
    /// A `"quoted identifier"`, unescaped.
    Ident(String),
    /// A string constant, unescaped (dollar-quoted bodies too).
    Str(String),
    /// A numeric constant.
    Num(String),
    /// `$1`-style parameter.
    Param,
    /// Any other character (operators, parentheses, commas, dots).
    Punct(char),
}

impl Tok {
    /// Whether this is the keyword `kw` (case-insensitive, unquoted).
    pub fn is(&self, kw: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    /// The identifier this token names: unquoted words fold to lower case.
    pub fn ident(&self) -> Option<String> {
        match self {
            Tok::Word(w) => Some(w.to_lowercase()),
            Tok::Ident(s) => Some(s.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Word(w) | Tok::Num(w) => f.write_str(w),
            Tok::Ident(s) => write!(f, "\"{}\"", s.replace('"', "\"\"")),
            Tok::Str(s) => write!(f, "'{}'", s.replace('\'', "''")),
            Tok::Param => f.write_str("$n"),
            Tok::Punct(c) => write!(f, "{c}"),
        }
    }
}

/// A statement of a migration file.
#[derive(Debug, Clone)]
pub struct Statement {
    /// The statement as written, without the terminating `;`.
    pub text: String,
    /// The 1-based line it starts on.
    pub line: usize,
    /// The comments between the previous statement and this one (their
    /// text after `--` or inside `/* */`), where acknowledgements live.
    pub comments: Vec<String>,
    pub tokens: Vec<Tok>,
}

/// A file that cannot be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    pub line: usize,
    pub message: String,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn bump(&mut self) {
        if self.peek(0) == b'\n' {
            self.line += 1;
        }
        self.i += 1;
    }

    fn err(&self, line: usize, message: &str) -> SplitError {
        SplitError {
            line,
            message: message.to_owned(),
        }
    }

    /// A quoted run ending at `q`, where a doubled `q` stands for one.
    fn quoted(&mut self, q: u8, backslash: bool) -> Result<String, SplitError> {
        let start_line = self.line;
        self.bump();
        let mut out = Vec::new();
        loop {
            match self.peek(0) {
                0 if self.i >= self.b.len() => {
                    return Err(self.err(start_line, "unterminated quoted string or identifier"));
                }
                c if c == q && self.peek(1) == q => {
                    out.push(q);
                    self.bump();
                    self.bump();
                }
                c if c == q => {
                    self.bump();
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' if backslash => {
                    out.push(self.peek(1));
                    self.bump();
                    self.bump();
                }
                c => {
                    out.push(c);
                    self.bump();
                }
            }
        }
    }

    /// The tag of a dollar quote starting here (`$$` or `$tag$`), if any.
    fn dollar_tag(&self) -> Option<String> {
        let rest = &self.src[self.i + 1..];
        let end = rest.find('$')?;
        let tag = &rest[..end];
        let ok = tag
            .chars()
            .enumerate()
            .all(|(k, c)| c == '_' || c.is_alphabetic() || (k > 0 && c.is_ascii_digit()));
        ok.then(|| format!("${tag}$"))
    }

    fn dollar_quoted(&mut self, tag: &str) -> Result<String, SplitError> {
        let start_line = self.line;
        let body_start = self.i + tag.len();
        let Some(off) = self.src[body_start..].find(tag) else {
            return Err(self.err(start_line, &format!("unterminated dollar-quoted string {tag}")));
        };
        let body = self.src[body_start..body_start + off].to_owned();
        while self.i < body_start + off + tag.len() {
            self.bump();
        }
        Ok(body)
    }

    fn block_comment(&mut self) -> Result<String, SplitError> {
        let start_line = self.line;
        let start = self.i + 2;
        let mut depth = 0;
        while self.i < self.b.len() {
            if self.peek(0) == b'/' && self.peek(1) == b'*' {
                depth += 1;
                self.bump();
                self.bump();
            } else if self.peek(0) == b'*' && self.peek(1) == b'/' {
                depth -= 1;
                self.bump();
                self.bump();
                if depth == 0 {
                    return Ok(self.src[start..self.i - 2].trim().to_owned());
                }
            } else {
                self.bump();
            }
        }
        Err(self.err(start_line, "unterminated /* comment"))
    }

    fn word(&mut self) -> String {
        let start = self.i;
        while self.i < self.b.len() {
            let c = self.src[self.i..].chars().next().unwrap_or(' ');
            if c == '_' || c == '$' || c.is_alphanumeric() {
                self.i += c.len_utf8();
            } else {
                break;
            }
        }
        self.src[start..self.i].to_owned()
    }

    fn number(&mut self) -> String {
        let start = self.i;
        while self.peek(0).is_ascii_alphanumeric() || self.peek(0) == b'.' || self.peek(0) == b'_' {
            self.bump();
        }
        self.src[start..self.i].to_owned()
    }
}

#[derive(Default)]
struct Pending {
    start: Option<(usize, usize)>,
    comments: Vec<String>,
    tokens: Vec<Tok>,
    /// Depth inside `BEGIN ATOMIC ... END` bodies.
    atomic: usize,
}

impl Pending {
    fn push(&mut self, t: Tok, at: usize, line: usize) {
        if self.start.is_none() {
            self.start = Some((at, line));
        }
        if self.atomic > 0 {
            if t.is("CASE") {
                self.atomic += 1;
            } else if t.is("END") {
                self.atomic -= 1;
            }
        } else if t.is("ATOMIC") && self.tokens.last().is_some_and(|p| p.is("BEGIN")) {
            self.atomic = 1;
        }
        self.tokens.push(t);
    }

    fn finish(&mut self, src: &str, end: usize, out: &mut Vec<Statement>) {
        let p = std::mem::take(self);
        if let Some((start, line)) = p.start {
            out.push(Statement {
                text: src[start..end].trim_end().to_owned(),
                line,
                comments: p.comments,
                tokens: p.tokens,
            });
        } else {
            // Comments after the last statement belong to nobody; keep
            // them for a statement that may still follow `;;`.
            self.comments = p.comments;
        }
    }
}

/// Split `src` into statements.
///
/// # Errors
/// An unterminated string, identifier, dollar quote or comment, or a psql
/// meta-command, with the line it starts on.
pub fn split(src: &str) -> Result<Vec<Statement>, SplitError> {
    let mut lx = Lexer {
        src,
        b: src.as_bytes(),
        i: 0,
        line: 1,
    };
    let mut out = Vec::new();
    let mut cur = Pending::default();
    let mut line_start = true;
    while lx.i < lx.b.len() {
        let c = lx.peek(0);
        let (at, line) = (lx.i, lx.line);
        if c == b'\\' && line_start {
            return Err(lx.err(
                line,
                "psql meta-commands (\\...) are not SQL; sw-schema runs plain SQL only",
            ));
        }
        line_start = c == b'\n' || (line_start && c.is_ascii_whitespace());
        match c {
            b'-' if lx.peek(1) == b'-' => {
                let end = src[lx.i..].find('\n').map_or(src.len(), |n| lx.i + n);
                cur.comments.push(src[lx.i + 2..end].trim().to_owned());
                lx.i = end;
            }
            b'/' if lx.peek(1) == b'*' => {
                let text = lx.block_comment()?;
                cur.comments.push(text);
            }
            b';' if cur.atomic == 0 => {
                cur.finish(src, at, &mut out);
                lx.bump();
            }
            b'\'' => {
                let s = lx.quoted(b'\'', false)?;
                cur.push(Tok::Str(s), at, line);
            }
            b'"' => {
                let s = lx.quoted(b'"', false)?;
                cur.push(Tok::Ident(s), at, line);
            }
            b'$' if lx.peek(1).is_ascii_digit() => {
                lx.bump();
                lx.number();
                cur.push(Tok::Param, at, line);
            }
            b'$' => match lx.dollar_tag() {
                Some(tag) => {
                    let body = lx.dollar_quoted(&tag)?;
                    cur.push(Tok::Str(body), at, line);
                }
                None => {
                    lx.bump();
                    cur.push(Tok::Punct('$'), at, line);
                }
            },
            c if c.is_ascii_whitespace() => lx.bump(),
            c if c.is_ascii_digit() => {
                let n = lx.number();
                cur.push(Tok::Num(n), at, line);
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let w = lx.word();
                // E'...' takes backslash escapes; B'', X'', U&'' do not.
                if lx.peek(0) == b'\'' && w.eq_ignore_ascii_case("e") {
                    let s = lx.quoted(b'\'', true)?;
                    cur.push(Tok::Str(s), at, line);
                } else {
                    cur.push(Tok::Word(w), at, line);
                }
            }
            _ => {
                let ch = src[lx.i..].chars().next().unwrap_or('?');
                lx.i += ch.len_utf8();
                cur.push(Tok::Punct(ch), at, line);
            }
        }
    }
    cur.finish(src, src.len(), &mut out);
    Ok(out)
}

/// A short one-line form of a statement for messages and records.
pub fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}...", flat.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<String> {
        split(src).unwrap().into_iter().map(|s| s.text).collect()
    }

    #[test]
    fn semicolons_in_strings_comments_and_bodies_do_not_split() {
        let src = "-- head; comment\nCREATE TABLE a (x text DEFAULT ';');\n\
                   /* block; /* nested; */ still */ INSERT INTO a VALUES (E'it\\'s;'), ('a''b;');\n\
                   CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END $fn$;\n\
                   CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; SELECT 2; END;\n\
                   SELECT \"we;ird\" FROM a";
        let t = texts(src);
        assert_eq!(t.len(), 5, "{t:#?}");
        assert_eq!(t[0], "CREATE TABLE a (x text DEFAULT ';')");
        assert!(t[1].starts_with("INSERT"), "{}", t[1]);
        assert!(t[2].ends_with("$fn$"), "{}", t[2]);
        assert!(t[3].ends_with("SELECT 2; END"), "{}", t[3]);
        assert_eq!(t[4], "SELECT \"we;ird\" FROM a");
    }

    #[test]
    fn lines_comments_and_tokens() {
        let s = split("SET x = 1;\n\n-- sw:allow ban-drop-column: unused\nALTER TABLE \"T\" DROP COLUMN y;\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].line, 4);
        assert_eq!(s[1].comments, ["sw:allow ban-drop-column: unused"]);
        assert_eq!(s[1].tokens[2], Tok::Ident("T".into()));
        assert_eq!(s[1].tokens[2].ident().as_deref(), Some("T"));
        assert_eq!(s[1].tokens[1].ident().as_deref(), Some("table"));
    }

    #[test]
    fn dollar_signs_that_are_not_quotes() {
        let s = split("SELECT $1, a$b FROM t WHERE x LIKE '$argon2id$%'").unwrap();
        assert_eq!(s.len(), 1);
        assert!(s[0].tokens.contains(&Tok::Param));
        assert!(s[0].tokens.contains(&Tok::Word("a$b".into())));
        assert!(s[0].tokens.contains(&Tok::Str("$argon2id$%".into())));
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(split("SELECT 1;\nSELECT 'x").unwrap_err().line, 2);
        assert_eq!(split("SELECT $a$ x").unwrap_err().line, 1);
        assert_eq!(split("SELECT 1;\n  \\set x 1\n").unwrap_err().line, 2);
        assert!(split("/* never closed").is_err());
    }

    #[test]
    fn empty_statements_are_skipped() {
        assert_eq!(texts(";; SELECT 1 ;\n -- trailing comment\n"), ["SELECT 1"]);
        assert!(texts("-- only a comment\n").is_empty());
    }
}
