//! The Blob calls the repository needs, one function each: Put Blob, Get
//! Blob (whole, a range, or streamed with resume), Get Blob Properties,
//! List Blobs with marker paging, Delete Blob and Create Container.

use std::io::{Read as _, Write};

use openssl::hash::{MessageDigest, hash};

use super::Client;
use super::http::{Backoff, Reply, Request, read_reply};
use super::xml;
use crate::error::{Error, Result};

/// Whether a put may replace an existing blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Write-once: `If-None-Match: *`.
    Create,
    /// Replace whatever is there.
    Overwrite,
}

/// What a put did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// The blob was written; its new ETag.
    Created { etag: String },
    /// [`Mode::Create`] and the blob already existed (409
    /// BlobAlreadyExists or 412): nothing was written. The caller compares
    /// the stored content (e.g. [`Properties::content_md5`]) with its own.
    Exists,
}

/// A blob's properties (Get Blob Properties).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Properties {
    pub size: u64,
    pub etag: String,
    /// `Content-MD5` as stored (base64), when the blob has one: Put Blob
    /// and [`Client::upload`] always store it.
    pub content_md5: Option<String>,
    /// RFC 1123, as the service sends it.
    pub last_modified: String,
    /// `x-ms-meta-*` pairs, names lowercased, without the prefix.
    pub metadata: Vec<(String, String)>,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobItem {
    /// Relative to the location's prefix.
    pub name: String,
    pub size: u64,
    pub etag: String,
    pub content_md5: Option<String>,
    pub last_modified: String,
}

/// A listing: blobs and, with a delimiter, the "directories" below the
/// prefix (relative names ending in the delimiter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    pub blobs: Vec<BlobItem>,
    pub prefixes: Vec<String>,
}

pub(super) fn md5_b64(data: &[u8]) -> Result<String> {
    let d = hash(MessageDigest::md5(), data).map_err(|e| Error::software("MD5").with_source(e))?;
    Ok(openssl::base64::encode_block(&d))
}

/// 409 BlobAlreadyExists (Azurite) and 412 ConditionNotMet (Azure) to an
/// `If-None-Match: *` write mean the same.
pub(super) fn is_exists(reply: &Reply) -> bool {
    reply.status == 412
        || (reply.status == 409 && reply.header("x-ms-error-code").is_none_or(|c| c == "BlobAlreadyExists"))
}

impl Client {
    /// Put Blob: the whole object in one request, with its Content-MD5
    /// (checked by the service, stored as the blob's), plus `metadata` as
    /// `x-ms-meta-*`.
    ///
    /// # Errors
    /// 75 when retries or the deadline run out, 69 unreachable, 77 refused
    /// credentials, 65 other rejections.
    pub fn put(&self, name: &str, data: &[u8], mode: Mode, metadata: &[(&str, &str)]) -> Result<PutOutcome> {
        let md5 = md5_b64(data)?;
        let mut r = Request::new("PUT", Some(name))
            .header("x-ms-blob-type", "BlockBlob")
            .header("Content-MD5", &md5)
            .header("Content-Type", "application/octet-stream")
            .body(data);
        for (k, v) in metadata {
            r = r.header(&format!("x-ms-meta-{k}"), v);
        }
        if mode == Mode::Create {
            r = r.header("If-None-Match", "*");
        }
        self.put_reply(&r)
    }

    /// Send a write and read its outcome.
    pub(super) fn put_reply(&self, r: &Request<'_>) -> Result<PutOutcome> {
        let reply = self.call(r)?;
        if reply.ok() {
            let etag = reply.header("etag").unwrap_or("").to_owned();
            return Ok(PutOutcome::Created { etag });
        }
        if r.headers.iter().any(|(k, _)| k == "If-None-Match") && is_exists(&reply) {
            return Ok(PutOutcome::Exists);
        }
        Err(self.status_error(&self.what(r), &reply))
    }

    /// Get Blob, whole, into memory (use [`Client::download`] for large ones).
    ///
    /// # Errors
    /// 66 when the blob does not exist; else as [`Client::put`].
    pub fn get(&self, name: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.download(name, &mut out)?;
        Ok(out)
    }

    /// Get Blob for bytes `start..start+len` (206 Partial Content); a range
    /// past the end is clipped to it by the service.
    ///
    /// # Errors
    /// 66 when the blob does not exist, 65 for a range starting past the end.
    pub fn get_range(&self, name: &str, start: u64, len: u64) -> Result<Vec<u8>> {
        if len == 0 {
            return Ok(Vec::new());
        }
        let range = format!("bytes={start}-{}", start + len - 1);
        let r = Request::new("GET", Some(name)).header("Range", &range);
        let reply = self.call(&r)?;
        if reply.ok() {
            Ok(reply.body)
        } else {
            Err(self.status_error(&self.what(&r), &reply))
        }
    }

    /// Get Blob streamed into `out`. A connection that breaks mid-body is
    /// resumed with `Range` from the last byte written, pinned to the
    /// first response's ETag (`If-Match`) so a replaced blob is never
    /// spliced. Returns the bytes written.
    ///
    /// # Errors
    /// 66 when the blob does not exist, 74 when `out` fails; else as
    /// [`Client::put`].
    pub fn download(&self, name: &str, out: &mut dyn Write) -> Result<u64> {
        let mut backoff = Backoff::new(self);
        let mut written: u64 = 0;
        let mut etag: Option<String> = None;
        loop {
            let mut r = Request::new("GET", Some(name));
            let range = format!("bytes={written}-");
            if let Some(tag) = &etag {
                r = r.header("Range", &range).header("If-Match", tag);
            }
            let what = self.what(&r);
            let mut res = self.open(&r, &mut backoff)?;
            let status = res.status().as_u16();
            if status == 416 && etag.is_some() {
                // The break came right after the last byte.
                return Ok(written);
            }
            if !(200..300).contains(&status) {
                let reply = read_reply(res, &what)?;
                return Err(self.status_error(&what, &reply));
            }
            if etag.is_none() {
                let headers = res.headers();
                let tag = headers.get("etag").and_then(|v| v.to_str().ok()).unwrap_or("");
                etag = Some(tag.to_owned());
            }
            let mut reader = res.body_mut().with_config().limit(u64::MAX).reader();
            let mut buf = vec![0u8; 256 << 10];
            loop {
                match reader.read(&mut buf) {
                    Ok(0) => return Ok(written),
                    Ok(n) => {
                        out.write_all(&buf[..n])
                            .map_err(|e| Error::io(format!("{what}: writing what was read")).with_source(e))?;
                        written += n as u64;
                    }
                    Err(e) => {
                        let e = Error::temp(format!("{what}: reading the body after {written} bytes")).with_source(e);
                        backoff.wait(&what, e)?;
                        break;
                    }
                }
            }
        }
    }

    /// Get Blob Properties (HEAD); `None` when the blob does not exist.
    ///
    /// # Errors
    /// As [`Client::put`].
    pub fn head(&self, name: &str) -> Result<Option<Properties>> {
        let r = Request::new("HEAD", Some(name));
        let reply = self.call(&r)?;
        if reply.status == 404 {
            return Ok(None);
        }
        if !reply.ok() {
            return Err(self.status_error(&self.what(&r), &reply));
        }
        let h = |n: &str| reply.header(n).unwrap_or("").to_owned();
        let size = h("content-length").parse().unwrap_or(0);
        let metadata = reply
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let k = k.to_ascii_lowercase();
                k.strip_prefix("x-ms-meta-").map(|n| (n.to_owned(), v.clone()))
            })
            .collect();
        Ok(Some(Properties {
            size,
            etag: h("etag"),
            content_md5: reply.header("content-md5").map(str::to_owned),
            last_modified: h("last-modified"),
            metadata,
        }))
    }

    /// Delete Blob; `false` when it was not there.
    ///
    /// # Errors
    /// As [`Client::put`].
    pub fn delete(&self, name: &str) -> Result<bool> {
        let r = Request::new("DELETE", Some(name));
        let reply = self.call(&r)?;
        match reply.status {
            404 => Ok(false),
            _ if reply.ok() => Ok(true),
            _ => Err(self.status_error(&self.what(&r), &reply)),
        }
    }

    /// Create Container; `false` when it already existed.
    ///
    /// # Errors
    /// As [`Client::put`].
    pub fn create_container(&self) -> Result<bool> {
        let r = Request::new("PUT", None).query("restype", "container").body(&[]);
        let reply = self.call(&r)?;
        if reply.ok() {
            return Ok(true);
        }
        if reply.status == 409 && reply.header("x-ms-error-code") == Some("ContainerAlreadyExists") {
            return Ok(false);
        }
        Err(self.status_error(&self.what(&r), &reply))
    }

    /// Every blob whose name starts with `prefix` (relative to the
    /// location's), following NextMarker until it is empty; with a
    /// delimiter, names past it are rolled up into [`Listing::prefixes`].
    ///
    /// # Errors
    /// As [`Client::put`]; 69 for a malformed listing.
    pub fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Listing> {
        let mut all = Listing::default();
        self.list_pages(prefix, delimiter, super::MAX_LIST_RESULTS, &mut |page| {
            all.blobs.extend(page.blobs);
            all.prefixes.extend(page.prefixes);
            Ok(())
        })?;
        Ok(all)
    }

    /// As [`Client::list`], a page at a time (at most `max_results` each,
    /// capped at 5000), so a caller can stop early or stream.
    ///
    /// # Errors
    /// As [`Client::list`], or what `each` returns.
    pub fn list_pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        max_results: u32,
        each: &mut dyn FnMut(Listing) -> Result<()>,
    ) -> Result<()> {
        let full_prefix = format!("{}{prefix}", self.prefix);
        let max = max_results.clamp(1, super::MAX_LIST_RESULTS).to_string();
        let mut marker = String::new();
        loop {
            let mut r = Request::new("GET", None)
                .query("restype", "container")
                .query("comp", "list")
                .query("maxresults", &max);
            if !full_prefix.is_empty() {
                r = r.query("prefix", &full_prefix);
            }
            if let Some(d) = delimiter {
                r = r.query("delimiter", d);
            }
            if !marker.is_empty() {
                r = r.query("marker", &marker);
            }
            let what = format!("listing {}/{full_prefix}", self.container);
            let reply = self.call(&r)?;
            if !reply.ok() {
                return Err(self.status_error(&what, &reply));
            }
            let (page, next) = self.parse_listing(&reply.body, &what)?;
            each(page)?;
            match next {
                Some(m) if !m.is_empty() => marker = m,
                _ => return Ok(()),
            }
        }
    }

    fn parse_listing(&self, body: &[u8], what: &str) -> Result<(Listing, Option<String>)> {
        let bad = |why: &str| Error::unavailable(format!("{what}: {why}"));
        let text = std::str::from_utf8(body).map_err(|_| bad("the listing is not UTF-8"))?;
        let root = xml::parse(text).map_err(|e| e.context(what.to_owned()))?;
        if root.name != "EnumerationResults" {
            return Err(bad("the listing is not EnumerationResults"));
        }
        let strip = |n: &str| n.strip_prefix(self.prefix.as_str()).unwrap_or(n).to_owned();
        let mut page = Listing::default();
        if let Some(blobs) = root.child("Blobs") {
            for b in blobs.children_named("Blob") {
                let name = b.child_text("Name").ok_or_else(|| bad("a blob without a name"))?;
                let props = b.child("Properties");
                let p = |k: &str| props.and_then(|p| p.child_text(k)).unwrap_or("").to_owned();
                page.blobs.push(BlobItem {
                    name: strip(name),
                    size: p("Content-Length").parse().unwrap_or(0),
                    etag: p("Etag"),
                    content_md5: Some(p("Content-MD5")).filter(|s| !s.is_empty()),
                    last_modified: p("Last-Modified"),
                });
            }
            for d in blobs.children_named("BlobPrefix") {
                page.prefixes.push(strip(d.child_text("Name").unwrap_or("")));
            }
        }
        Ok((page, root.child_text("NextMarker").map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_is_base64() {
        assert_eq!(md5_b64(b"").unwrap(), "1B2M2Y8AsgTpgAmY7PhCfg==");
    }

    #[test]
    fn both_conflict_codes_mean_exists() {
        let r = |status, code: Option<&str>| Reply {
            status,
            headers: code
                .map(|c| ("x-ms-error-code".to_owned(), c.to_owned()))
                .into_iter()
                .collect(),
            body: vec![],
        };
        assert!(is_exists(&r(412, Some("ConditionNotMet"))));
        assert!(is_exists(&r(409, Some("BlobAlreadyExists"))));
        assert!(!is_exists(&r(409, Some("LeaseIdMissing"))));
        assert!(!is_exists(&r(404, None)));
    }
}
