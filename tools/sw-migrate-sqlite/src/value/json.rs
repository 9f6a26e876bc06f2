//! JSON as PostgreSQL's jsonb keeps it: the text the server prints for a
//! jsonb value (keys sorted its way, numbers as numeric prints them), so the
//! verification can compare it, and the inputs jsonb would refuse or change.

use super::numeric::{Decimal, parse_decimal};

/// Parse JSON text as PostgreSQL's jsonb input does and return the text
/// jsonb prints for it (keys ordered by length then bytes, `", "`/`": "`
/// separators, numbers as `numeric` prints them, strings re-escaped). The
/// verification compares this with what the server sends back.
///
/// # Errors
/// Not valid JSON, an object with a duplicate key (jsonb would keep only
/// the last one), `\u0000` or a lone surrogate (jsonb refuses them), a
/// number `numeric` cannot hold, nesting deeper than 1000.
pub fn jsonb_canonical(s: &str) -> Result<String, String> {
    let mut p = JsonParser { b: s.as_bytes(), i: 0 };
    let mut out = String::with_capacity(s.len() + 8);
    p.ws();
    p.value(&mut out, 0)?;
    p.ws();
    if p.i != p.b.len() {
        return Err("not valid JSON (text after the value)".into());
    }
    Ok(out)
}

struct JsonParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn bad<T>(&self) -> Result<T, String> {
        Err(format!("not valid JSON (at byte {})", self.i))
    }

    fn value(&mut self, out: &mut String, depth: usize) -> Result<(), String> {
        if depth > 1000 {
            return Err("JSON nested deeper than 1000 levels".into());
        }
        match self.b.get(self.i) {
            Some(b'{') => self.object(out, depth)?,
            Some(b'[') => self.array(out, depth)?,
            Some(b'"') => {
                let s = self.string()?;
                out.push_str(&escape_json(&s));
            }
            Some(b'-' | b'0'..=b'9') => self.number(out)?,
            Some(_) => self.literal(out)?,
            None => return self.bad(),
        }
        Ok(())
    }

    /// An object at `i` (on the `{`), its members in jsonb's key order.
    fn object(&mut self, out: &mut String, depth: usize) -> Result<(), String> {
        self.i += 1;
        let mut members: Vec<(String, String)> = Vec::new();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if self.b.get(self.i) != Some(&b'"') {
                    return self.bad();
                }
                let key = self.string()?;
                self.ws();
                if self.b.get(self.i) != Some(&b':') {
                    return self.bad();
                }
                self.i += 1;
                self.ws();
                let mut v = String::new();
                self.value(&mut v, depth + 1)?;
                members.push((key, v));
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    _ => return self.bad(),
                }
            }
        }
        members.sort_by(|a, b| {
            a.0.len()
                .cmp(&b.0.len())
                .then_with(|| a.0.as_bytes().cmp(b.0.as_bytes()))
        });
        if let Some(w) = members.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(format!(
                "JSON object with the key {} twice (jsonb keeps only the last)",
                escape_json(&w[0].0)
            ));
        }
        out.push('{');
        for (k, (key, v)) in members.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            out.push_str(&escape_json(key));
            out.push_str(": ");
            out.push_str(v);
        }
        out.push('}');
        Ok(())
    }

    /// An array at `i` (on the `[`).
    fn array(&mut self, out: &mut String, depth: usize) -> Result<(), String> {
        self.i += 1;
        out.push('[');
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
        } else {
            let mut first = true;
            loop {
                self.ws();
                if !first {
                    out.push_str(", ");
                }
                first = false;
                self.value(out, depth + 1)?;
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        break;
                    }
                    _ => return self.bad(),
                }
            }
        }
        out.push(']');
        Ok(())
    }

    /// `true`, `false` or `null` at `i`.
    fn literal(&mut self, out: &mut String) -> Result<(), String> {
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_alphanumeric() {
            self.i += 1;
        }
        match &self.b[start..self.i] {
            b"true" => out.push_str("true"),
            b"false" => out.push_str("false"),
            b"null" => out.push_str("null"),
            _ => {
                self.i = start;
                return self.bad();
            }
        }
        Ok(())
    }

    fn number(&mut self, out: &mut String) -> Result<(), String> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i - s
        };
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let lead = self.i;
        let n = digits(self);
        if n == 0 || (n > 1 && self.b[lead] == b'0') {
            return self.bad();
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return self.bad();
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return self.bad();
            }
        }
        if self
            .b
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'.')
        {
            return self.bad();
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).map_err(|_| "not valid JSON".to_owned())?;
        if let Some(p) = text.find(['e', 'E'])
            && text[p + 1..].parse::<i64>().map_or(true, |e| e.abs() > 1000)
        {
            return Err("JSON number with an exponent beyond ±1000 (numeric cannot hold it)".into());
        }
        match parse_decimal(text) {
            Some(Decimal::Finite { neg, int, frac }) => {
                let zero = int.bytes().chain(frac.bytes()).all(|b| b == b'0');
                if neg && !zero {
                    out.push('-');
                }
                out.push_str(if int.is_empty() { "0" } else { &int });
                if !frac.is_empty() {
                    out.push('.');
                    out.push_str(&frac);
                }
                Ok(())
            }
            _ => self.bad(),
        }
    }

    /// A string at `i` (on the opening quote), unescaped.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut s = String::new();
        loop {
            let start = self.i;
            while self.i < self.b.len() && !matches!(self.b[self.i], b'"' | b'\\') && self.b[self.i] >= 0x20 {
                self.i += 1;
            }
            s.push_str(std::str::from_utf8(&self.b[start..self.i]).map_err(|_| "invalid UTF-8 in JSON".to_owned())?);
            match self.b.get(self.i) {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(s);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.bad();
                    };
                    self.i += 1;
                    match e {
                        b'"' => s.push('"'),
                        b'\\' => s.push('\\'),
                        b'/' => s.push('/'),
                        b'b' => s.push('\u{8}'),
                        b'f' => s.push('\u{c}'),
                        b'n' => s.push('\n'),
                        b'r' => s.push('\r'),
                        b't' => s.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i..self.i + 2) != Some(b"\\u") {
                                    return Err("JSON with a lone surrogate \\u escape".into());
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err("JSON with a lone surrogate \\u escape".into());
                                }
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else if (0xDC00..0xE000).contains(&hi) {
                                return Err("JSON with a lone surrogate \\u escape".into());
                            } else {
                                hi
                            };
                            if c == 0 {
                                return Err("JSON with \\u0000 cannot be stored in PostgreSQL".into());
                            }
                            s.push(char::from_u32(c).ok_or("JSON with an invalid \\u escape")?);
                        }
                        _ => return self.bad(),
                    }
                }
                _ => return self.bad(),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .b
            .get(self.i..self.i + 4)
            .ok_or("not valid JSON (short \\u escape)")?;
        let h = std::str::from_utf8(h).map_err(|_| "not valid JSON".to_owned())?;
        if !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return self.bad();
        }
        self.i += 4;
        u32::from_str_radix(h, 16).map_err(|_| "not valid JSON".to_owned())
    }
}

/// A JSON string literal as PostgreSQL's `escape_json` writes it.
fn escape_json(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\u{8}' => o.push_str("\\b"),
            '\u{c}' => o.push_str("\\f"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if u32::from(c) < 0x20 => o.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonb_text_as_the_server_prints_it() {
        let c = |s: &str| jsonb_canonical(s);
        assert_eq!(
            c(r#" {"bb": [1, 2.50, -0, 1e2, 1.0e-2], "a":{"x":"\u00e9\/\n\u0001"}, "c" : null} "#).unwrap(),
            r#"{"a": {"x": "é/\n\u0001"}, "c": null, "bb": [1, 2.50, 0, 100, 0.010]}"#
        );
        assert_eq!(c(r#""\ud83d\ude00""#).unwrap(), "\"😀\"");
        assert_eq!(c("[]").unwrap(), "[]");
        assert!(c(r#"{"a": 1, "a": 2}"#).unwrap_err().contains("twice"));
        for bad in [
            "",
            "{",
            "[1,]",
            "01",
            "1.",
            "tru",
            "\"\\u0000\"",
            "\"\\ud800\"",
            "1e1001",
            "{\"a\" 1}",
            "[1] x",
        ] {
            assert!(c(bad).is_err(), "{bad}");
        }
    }
}
