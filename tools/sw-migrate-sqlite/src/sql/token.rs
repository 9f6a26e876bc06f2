//! SQLite SQL as tokens: the tokenizer, and the helpers that walk token
//! lists (top-level commas, parenthesised groups). Schema SQL is read
//! through these so quoting and comments are handled once.

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
///
/// # Errors
/// Unterminated quoted text.
pub fn tokenize(sql: &str) -> Result<Vec<Tok>, String> {
    let mut lx = Lexer {
        b: sql.chars().collect(),
        i: 0,
    };
    let mut out = Vec::new();
    while let Some(&c) = lx.b.get(lx.i) {
        let next = lx.b.get(lx.i + 1).copied();
        if c.is_whitespace() {
            lx.i += 1;
        } else if c == '-' && next == Some('-') {
            lx.skip_line_comment();
        } else if c == '/' && next == Some('*') {
            lx.skip_block_comment();
        } else if matches!(c, '\'' | '"' | '`' | '[') {
            out.push(lx.quoted(c)?);
        } else if (c == 'x' || c == 'X') && next == Some('\'') {
            out.push(lx.blob());
        } else if c.is_ascii_digit() || (c == '.' && next.is_some_and(|d| d.is_ascii_digit())) {
            out.push(lx.number());
        } else if c.is_alphabetic() || c == '_' || !c.is_ascii() {
            out.push(lx.word());
        } else {
            out.push(lx.punctuation(c));
        }
    }
    Ok(out)
}

/// The tokenizer's position in the text.
struct Lexer {
    b: Vec<char>,
    i: usize,
}

impl Lexer {
    fn skip_line_comment(&mut self) {
        while self.i < self.b.len() && self.b[self.i] != '\n' {
            self.i += 1;
        }
    }

    fn skip_block_comment(&mut self) {
        self.i += 2;
        while self.i < self.b.len() && !(self.b[self.i] == '*' && self.b.get(self.i + 1) == Some(&'/')) {
            self.i += 1;
        }
        self.i += 2;
    }

    /// A string literal or a quoted identifier opened by `open`.
    fn quoted(&mut self, open: char) -> Result<Tok, String> {
        let close = if open == '[' { ']' } else { open };
        let mut s = String::new();
        self.i += 1;
        loop {
            match self.b.get(self.i) {
                None => return Err("unterminated quoted text".into()),
                Some(&ch) if ch == close => {
                    if close != ']' && self.b.get(self.i + 1) == Some(&close) {
                        s.push(close);
                        self.i += 2;
                    } else {
                        self.i += 1;
                        break;
                    }
                }
                Some(&ch) => {
                    s.push(ch);
                    self.i += 1;
                }
            }
        }
        Ok(if open == '\'' {
            Tok::Str(s)
        } else {
            Tok::Ident { text: s, quoted: true }
        })
    }

    fn blob(&mut self) -> Tok {
        let start = self.i + 2;
        let mut j = start;
        while j < self.b.len() && self.b[j] != '\'' {
            j += 1;
        }
        self.i = j + 1;
        Tok::Blob(self.b[start..j.min(self.b.len())].iter().collect())
    }

    fn number(&mut self) -> Tok {
        let b = &self.b;
        let start = self.i;
        let mut i = self.i;
        if b[i] == '0' && matches!(b.get(i + 1), Some('x' | 'X')) {
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
        self.i = i;
        Tok::Num(b[start..i].iter().collect())
    }

    fn word(&mut self) -> Tok {
        let start = self.i;
        while self.i < self.b.len() && {
            let c = self.b[self.i];
            c.is_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()
        } {
            self.i += 1;
        }
        Tok::Ident {
            text: self.b[start..self.i].iter().collect(),
            quoted: false,
        }
    }

    /// Parentheses, commas, parameters and operators.
    fn punctuation(&mut self, c: char) -> Tok {
        self.i += 1;
        match c {
            '(' => Tok::LParen,
            ')' => Tok::RParen,
            ',' => Tok::Comma,
            '?' | ':' | '@' | '$' => {
                while self.i < self.b.len() && (self.b[self.i].is_alphanumeric() || self.b[self.i] == '_') {
                    self.i += 1;
                }
                Tok::Param
            }
            _ => {
                let two: String = self.b[self.i - 1..(self.i + 1).min(self.b.len())].iter().collect();
                match two.as_str() {
                    "==" | "!=" | "<>" | "<=" | ">=" | "||" | "<<" | ">>" => {
                        self.i += 1;
                        Tok::Op(two)
                    }
                    _ => Tok::Op(c.to_string()),
                }
            }
        }
    }
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
        let t = tokenize("a<=b/*x*/!=X'0A' 0x1F 1.5e-3 ?1 :n").unwrap();
        assert_eq!(
            t[1..],
            [
                Tok::Op("<=".into()),
                Tok::Ident {
                    text: "b".into(),
                    quoted: false
                },
                Tok::Op("!=".into()),
                Tok::Blob("0A".into()),
                Tok::Num("0x1F".into()),
                Tok::Num("1.5e-3".into()),
                Tok::Param,
                Tok::Param
            ]
        );
    }
}
