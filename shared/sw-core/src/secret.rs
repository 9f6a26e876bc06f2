//! Secrets: password generation from the OS CSPRNG, and redaction of every
//! known secret from text that leaves the process (errors, logs, records).
//!
//! Redaction works two ways: values registered with [`register`] are
//! replaced wherever they appear, and anything shaped like a password in a
//! connection string (`user:pw@` in a URI, `password=` in conninfo) is
//! masked even when nobody registered it.

use std::sync::RwLock;

use crate::error::{Error, Result};

/// What replaces a secret in output.
pub const MASK: &str = "********";

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Characters used in generated passwords: unreserved in URIs (RFC 3986),
/// and free of quoting trouble in shells, env files, JDBC and conninfo.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of generated passwords (about 190 bits of entropy).
pub const PASSWORD_LEN: usize = 32;

/// Generate a password of [`PASSWORD_LEN`] characters from the OS CSPRNG,
/// uniformly over [`ALPHABET`] (rejection sampling, no modulo bias), and
/// register it for redaction.
pub fn generate_password() -> Result<String> {
    let mut out = String::with_capacity(PASSWORD_LEN);
    let mut buf = [0u8; 64];
    // 62 * 4 = 248: bytes at or above it are rejected to keep the draw uniform.
    let limit = u8::try_from(ALPHABET.len() * 4).unwrap_or(u8::MAX);
    while out.len() < PASSWORD_LEN {
        getrandom::fill(&mut buf).map_err(|e| Error::software(format!("reading the OS random source: {e}")))?;
        for b in buf {
            if b < limit && out.len() < PASSWORD_LEN {
                out.push(char::from(ALPHABET[usize::from(b) % ALPHABET.len()]));
            }
        }
    }
    register(&out);
    Ok(out)
}

/// Remember a secret so [`redact`] masks it wherever it appears.
/// Very short values are ignored: masking "a" everywhere helps nobody.
pub fn register(secret: &str) {
    if secret.len() < 4 {
        return;
    }
    if let Ok(mut s) = SECRETS.write()
        && !s.iter().any(|x| x == secret)
    {
        s.push(secret.to_owned());
        // Longest first, so a secret containing another is masked whole.
        s.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }
}

/// Mask registered secrets and anything password-shaped in `text`.
pub fn redact(text: &str) -> String {
    let mut out = text.to_owned();
    if let Ok(s) = SECRETS.read() {
        for secret in s.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
            // Percent-encoded forms appear in URIs.
            let enc = percent_encode(secret);
            if enc != *secret && out.contains(&enc) {
                out = out.replace(&enc, MASK);
            }
        }
    }
    mask_uri_passwords(&mask_conninfo_passwords(&out))
}

/// Mask `scheme://user:PASSWORD@host` userinfo passwords.
fn mask_uri_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // userinfo ends at the last '@' before the next '/', '?', '#' or space.
        let end = tail.find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace());
        let authority = &tail[..end.unwrap_or(tail.len())];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
                rest = &tail[authority.len()..];
            }
            _ => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

/// Mask `password=...` in key=value conninfo (quoted or not).
fn mask_conninfo_passwords(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    while let Some(off) = lower[pos..].find("password") {
        let start = pos + off;
        let after = &text[start + "password".len()..];
        let trimmed = after.trim_start();
        // Any prefix counts (PGPASSWORD=, SW_PASSWORD=): over-masking is harmless.
        if let Some(value) = trimmed.strip_prefix('=') {
            let value = value.trim_start();
            let consumed_before_value = text.len() - start - value.len();
            out.push_str(&text[pos..start + consumed_before_value]);
            let vlen = if let Some(q) = value.strip_prefix('\'') {
                let mut n = 1;
                let mut chars = q.char_indices();
                while let Some((i, c)) = chars.next() {
                    if c == '\\' {
                        chars.next();
                    } else if c == '\'' {
                        n = i + 2;
                        break;
                    }
                    n = i + c.len_utf8() + 1;
                }
                n
            } else {
                value
                    .find(|c: char| c.is_whitespace() || c == '&')
                    .unwrap_or(value.len())
            };
            if vlen > 0 {
                out.push_str(MASK);
            }
            pos = start + consumed_before_value + vlen;
        } else {
            out.push_str(&text[pos..start + "password".len()]);
            pos = start + "password".len();
        }
    }
    out.push_str(&text[pos..]);
    out
}

/// Percent-encode everything outside RFC 3986's unreserved set.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_unique_and_uri_safe() {
        let a = generate_password().unwrap();
        let b = generate_password().unwrap();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert_ne!(a, b);
        assert_eq!(percent_encode(&a), a);
    }

    #[test]
    fn registered_secrets_are_masked() {
        register("hunter2-secret");
        let s = redact("login failed for hunter2-secret and hunter2%2Dsecret");
        assert!(!s.contains("hunter2-secret"), "{s}");
    }

    #[test]
    fn uri_passwords_are_masked() {
        assert_eq!(
            redact("postgresql://app:s3cr%40t@db.example:5432/app?sslmode=require"),
            "postgresql://app:********@db.example:5432/app?sslmode=require"
        );
        assert_eq!(redact("postgresql://app@host/db"), "postgresql://app@host/db");
        assert_eq!(redact("see https://example.com/x"), "see https://example.com/x");
    }

    #[test]
    fn conninfo_passwords_are_masked() {
        assert_eq!(redact("host=x password=abc user=u"), "host=x password=******** user=u");
        assert_eq!(
            redact("host=x password = 'a b\\'c' user=u"),
            "host=x password = ******** user=u"
        );
        assert_eq!(redact("PGPASSWORD=zzz"), "PGPASSWORD=********");
        assert_eq!(redact("password_encryption=scram"), "password_encryption=scram");
        assert_eq!(redact("no secrets here"), "no secrets here");
    }
}
