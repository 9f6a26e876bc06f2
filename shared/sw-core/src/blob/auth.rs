//! How a Blob request proves who sent it: Shared Key signatures, SAS tokens
//! or Entra ID bearer tokens.
//!
//! Shared Key follows "Authorize with Shared Key" (version 2009-09-19 and
//! later) exactly, including the `If-*` and `Range` lines some clients
//! leave empty: the verb, twelve standard headers (Content-Length empty
//! when 0), the sorted `x-ms-*` headers, then `/account/path` (for an
//! Azurite path-style URL the path starts with the account again) and the
//! query parameters, names lowercased and sorted. A service SAS can be made
//! from the account key ([`service_sas`]; version 2020-12-06 and later
//! string-to-sign), which tests use and a later `sw-backup` may offer.
//!
//! Every key and token is registered with [`crate::secret`] so error lines
//! and logs mask it, and `Debug` prints only the kind of credential.

use std::fmt;
use std::sync::Arc;

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;

use crate::error::{Error, Result};
use crate::secret;

/// A callback giving a bearer token for `https://storage.azure.com/`,
/// fresh for a few more minutes (sw-core's `azure` token sources fit it:
/// see [`Auth::bearer_from`]).
pub type TokenFn = Arc<dyn Fn() -> Result<String> + Send + Sync>;

/// The credential a [`super::Client`] signs requests with.
#[derive(Clone)]
pub enum Auth {
    /// The account name and its base64 access key (Shared Key).
    SharedKey { account: String, key: Vec<u8> },
    /// A SAS token (the query string, with or without the leading `?`).
    Sas(String),
    /// Entra ID: `Authorization: Bearer <token>` from the callback.
    Bearer(TokenFn),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::SharedKey { account, .. } => write!(f, "Auth::SharedKey({account}, key redacted)"),
            Auth::Sas(_) => f.write_str("Auth::Sas(redacted)"),
            Auth::Bearer(_) => f.write_str("Auth::Bearer"),
        }
    }
}

impl Auth {
    /// Shared Key from the account name and its base64 key.
    ///
    /// # Errors
    /// 78 when the key is not base64.
    pub fn shared_key(account: &str, key_b64: &str) -> Result<Auth> {
        let key_b64 = key_b64.trim();
        secret::register(key_b64);
        let key = openssl::base64::decode_block(key_b64)
            .map_err(|_| Error::config(format!("the storage account key for {account} is not valid base64")))?;
        if key.is_empty() {
            return Err(Error::config(format!("the storage account key for {account} is empty")));
        }
        Ok(Auth::SharedKey {
            account: account.to_owned(),
            key,
        })
    }

    /// A SAS token; its signature is registered for redaction.
    ///
    /// # Errors
    /// 78 when the token has no `sig=` parameter.
    pub fn sas(token: &str) -> Result<Auth> {
        let token = token.trim().trim_start_matches('?').to_owned();
        let sig = token.split('&').find_map(|kv| kv.strip_prefix("sig="));
        let Some(sig) = sig.filter(|s| !s.is_empty()) else {
            return Err(Error::config("the SAS token has no sig= parameter"));
        };
        secret::register(&token);
        secret::register(sig);
        secret::register(&percent_decode(sig));
        Ok(Auth::Sas(token))
    }

    /// A bearer token from any callback.
    pub fn bearer(f: impl Fn() -> Result<String> + Send + Sync + 'static) -> Auth {
        Auth::Bearer(Arc::new(f))
    }

    /// A bearer token from one of sw-core's Entra ID token sources (made
    /// for the resource `https://storage.azure.com/`).
    #[cfg(feature = "azure")]
    pub fn bearer_from(source: Box<dyn crate::azure::TokenSource>) -> Auth {
        Auth::bearer(move || source.token())
    }

    pub(super) fn describe(&self) -> &'static str {
        match self {
            Auth::SharedKey { .. } => "shared key",
            Auth::Sas(_) => "SAS token",
            Auth::Bearer(_) => "Entra ID token",
        }
    }
}

/// What a request looks like to the signer.
pub(super) struct ToSign<'a> {
    pub method: &'a str,
    /// The URL path as sent (percent-encoded), starting with `/`.
    pub path: &'a str,
    /// Query parameters, decoded.
    pub query: &'a [(String, String)],
    /// Headers as sent (any case).
    pub headers: &'a [(String, String)],
    pub content_length: usize,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map_or("", |(_, v)| v.as_str())
}

/// The Shared Key string-to-sign (the docs' "Blob, Queue, and File
/// services (Shared Key authorization)").
pub(super) fn string_to_sign(account: &str, r: &ToSign<'_>) -> String {
    let len = if r.content_length == 0 {
        String::new()
    } else {
        r.content_length.to_string()
    };
    let mut s = format!("{}\n", r.method);
    for name in ["content-encoding", "content-language"] {
        s.push_str(header(r.headers, name));
        s.push('\n');
    }
    s.push_str(&len);
    s.push('\n');
    for name in [
        "content-md5",
        "content-type",
        // Empty: we always send x-ms-date, which takes its place.
        "date",
        "if-modified-since",
        "if-match",
        "if-none-match",
        "if-unmodified-since",
        "range",
    ] {
        s.push_str(header(r.headers, name));
        s.push('\n');
    }
    let mut ms: Vec<(String, &str)> = r
        .headers
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-ms-"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim()))
        .collect();
    ms.sort();
    for (k, v) in ms {
        s.push_str(&format!("{k}:{v}\n"));
    }
    s.push_str(&format!("/{account}{}", r.path));
    let mut q: Vec<(String, &str)> = r
        .query
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    q.sort();
    for (k, v) in q {
        s.push_str(&format!("\n{k}:{v}"));
    }
    s
}

/// base64(HMAC-SHA256(key, text)).
pub(super) fn hmac_b64(key: &[u8], text: &str) -> Result<String> {
    let pkey = PKey::hmac(key).map_err(|e| Error::software("HMAC key").with_source(e))?;
    let mut signer = Signer::new(MessageDigest::sha256(), &pkey).map_err(|e| Error::software("HMAC").with_source(e))?;
    let mac = signer
        .sign_oneshot_to_vec(text.as_bytes())
        .map_err(|e| Error::software("HMAC").with_source(e))?;
    Ok(openssl::base64::encode_block(&mac))
}

/// The `Authorization` header value for Shared Key.
pub(super) fn shared_key_header(account: &str, key: &[u8], r: &ToSign<'_>) -> Result<String> {
    let sig = hmac_b64(key, &string_to_sign(account, r))?;
    Ok(format!("SharedKey {account}:{sig}"))
}

/// What a service SAS grants on a container.
#[derive(Debug, Clone)]
pub struct SasGrant<'a> {
    pub container: &'a str,
    /// Permission letters in the documented order, e.g. `"racwdl"`.
    pub permissions: &'a str,
    /// `YYYY-MM-DDThh:mm:ssZ`, or empty.
    pub start: &'a str,
    /// `YYYY-MM-DDThh:mm:ssZ`.
    pub expiry: &'a str,
}

/// A container-level service SAS token (`sr=c`) signed with the account
/// key, version [`super::API_VERSION`] (string-to-sign of 2020-12-06 and
/// later: sixteen lines, the canonical resource `/blob/account/container`).
///
/// # Errors
/// 70 when openssl fails.
pub fn service_sas(account: &str, key: &[u8], grant: &SasGrant<'_>) -> Result<String> {
    let version = super::API_VERSION;
    let resource = format!("/blob/{account}/{}", grant.container);
    let lines = [
        grant.permissions,
        grant.start,
        grant.expiry,
        &resource,
        "", // signed identifier
        "", // signed IP
        "https",
        version,
        "c",
        "", // snapshot time
        "", // encryption scope
        "",
        "",
        "",
        "",
        "", // rscc, rscd, rsce, rscl, rsct
    ];
    let sig = hmac_b64(key, &lines.join("\n"))?;
    let mut token = format!("sv={version}&spr=https&sr=c&sp={}", grant.permissions);
    if !grant.start.is_empty() {
        token.push_str(&format!("&st={}", secret::percent_encode(grant.start)));
    }
    token.push_str(&format!(
        "&se={}&sig={}",
        secret::percent_encode(grant.expiry),
        secret::percent_encode(&sig)
    ));
    secret::register(&token);
    secret::register(&sig);
    secret::register(&secret::percent_encode(&sig));
    Ok(token)
}

/// Decode `%XX` escapes (and `+` as itself): the Shared Key canonical query
/// and the SAS signature use decoded values.
pub(super) fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_sign_has_every_line_and_the_doubled_account() {
        let headers = vec![
            ("x-ms-version".to_owned(), "2024-08-04".to_owned()),
            ("x-ms-date".to_owned(), "Mon, 01 Jan 2024 00:00:00 GMT".to_owned()),
            ("If-None-Match".to_owned(), "*".to_owned()),
            ("x-ms-blob-type".to_owned(), "BlockBlob".to_owned()),
        ];
        let query = vec![
            ("comp".to_owned(), "list".to_owned()),
            ("Restype".to_owned(), "container".to_owned()),
        ];
        let s = string_to_sign(
            "devstoreaccount1",
            &ToSign {
                method: "PUT",
                path: "/devstoreaccount1/c/b",
                query: &query,
                headers: &headers,
                content_length: 3,
            },
        );
        assert_eq!(
            s,
            "PUT\n\n\n3\n\n\n\n\n\n*\n\n\nx-ms-blob-type:BlockBlob\nx-ms-date:Mon, 01 Jan 2024 00:00:00 GMT\n\
             x-ms-version:2024-08-04\n/devstoreaccount1/devstoreaccount1/c/b\ncomp:list\nrestype:container"
        );
    }

    #[test]
    fn debug_never_shows_the_key_or_token() {
        let a = Auth::shared_key("acct", "c2VjcmV0LWtleS1ieXRlcw==").unwrap();
        assert!(!format!("{a:?}").contains("c2VjcmV0"));
        let s = Auth::sas("?sv=1&sig=abcdEFGH%2B").unwrap();
        assert!(!format!("{s:?}").contains("abcd"));
        assert_eq!(secret::redact("x sig=abcdEFGH%2B y"), "x sig=******** y");
        assert!(Auth::sas("sv=1").is_err());
        assert!(Auth::shared_key("acct", "not base64!").is_err());
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%2Fb%3d"), "a/b=");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
