//! Large objects from a reader: Put Block in parallel, then Put Block List.
//!
//! Memory stays bounded: the reader fills one block while `parallel`
//! workers each send one, handed over through a rendezvous channel, so at
//! most `parallel + 1` blocks exist at once (counted and returned, so a
//! test can check it). Block ids are one length (Azure requires it): a
//! random per-upload tag plus the block number, so two uploaders of the
//! same name never commit each other's blocks. Nothing is visible until
//! the block list commits; uncommitted blocks of an abandoned upload are
//! dropped by the service after 7 days. The block size doubles every 5000
//! blocks (capped at Azure's 4000 MiB), so the 50,000-block limit is far
//! away (8 MiB blocks: about 350 TiB).

use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};

use openssl::hash::{Hasher, MessageDigest};

use super::Client;
use super::http::Request;
use super::ops::{Mode, PutOutcome, md5_b64};
use crate::error::{Error, Result};

/// Azure's limits on block blobs.
const MAX_BLOCKS: u32 = 50_000;
const MAX_BLOCK: usize = 4000 << 20;
/// Blocks between doublings of the block size.
const GROW_EVERY: u32 = 5000;

/// What [`Client::upload`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub outcome: PutOutcome,
    pub bytes: u64,
    /// Blocks sent (0 when the object fit in one Put Blob).
    pub blocks: u32,
    /// MD5 of the whole content (base64), stored as the blob's Content-MD5.
    pub content_md5: String,
    /// The most block buffers that were alive at once.
    pub peak_buffers: usize,
}

/// Read until `buf` holds `want` bytes or the reader ends.
fn fill(reader: &mut dyn Read, want: usize) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(want);
    let mut chunk = reader.take(want as u64);
    chunk
        .read_to_end(&mut buf)
        .map_err(|e| Error::io("reading the data to upload").with_source(e))?;
    Ok(buf)
}

fn block_len(base: usize, index: u32) -> usize {
    let doublings = (index / GROW_EVERY).min(10);
    base.saturating_mul(1 << doublings).min(MAX_BLOCK)
}

fn block_id(tag: &str, index: u32) -> String {
    openssl::base64::encode_block(format!("{tag}-{index:06}").as_bytes())
}

/// Counts live block buffers and the peak.
#[derive(Default)]
struct Gauge {
    live: AtomicUsize,
    peak: AtomicUsize,
}

impl Gauge {
    fn up(&self) {
        let n = self.live.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
    }
    fn down(&self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Client {
    /// Upload everything `reader` yields as `name`: one Put Blob when it
    /// fits in a block, else blocks in parallel and a Put Block List
    /// (write-once with [`Mode::Create`]: `If-None-Match: *` on the commit).
    ///
    /// # Errors
    /// 74 when the reader fails, 65 past 50,000 blocks; else as [`Client::put`].
    pub fn upload(&self, name: &str, reader: &mut dyn Read, mode: Mode, metadata: &[(&str, &str)]) -> Result<Uploaded> {
        let base = self.opts.block_size.max(1);
        let first = fill(reader, base)?;
        let more = fill(reader, 1)?;
        if more.is_empty() {
            let outcome = self.put(name, &first, mode, metadata)?;
            return Ok(Uploaded {
                outcome,
                bytes: first.len() as u64,
                blocks: 0,
                content_md5: md5_b64(&first)?,
                peak_buffers: 1,
            });
        }
        let mut tag = [0u8; 6];
        getrandom::fill(&mut tag).map_err(|e| Error::software(format!("reading the OS random source: {e}")))?;
        let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let mut md5 = Hasher::new(MessageDigest::md5()).map_err(|e| Error::software("MD5").with_source(e))?;
        let (blocks, bytes, peak) = self.send_blocks(name, &tag, first, more, reader, &mut md5)?;
        let digest = md5.finish().map_err(|e| Error::software("MD5").with_source(e))?;
        let content_md5 = openssl::base64::encode_block(&digest);
        let mut list = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for i in 0..blocks {
            list.push_str(&format!("<Latest>{}</Latest>", block_id(&tag, i)));
        }
        list.push_str("</BlockList>");
        let list_md5 = md5_b64(list.as_bytes())?;
        let mut r = Request::new("PUT", Some(name))
            .query("comp", "blocklist")
            .header("Content-MD5", &list_md5)
            .header("x-ms-blob-content-md5", &content_md5)
            .header("x-ms-blob-content-type", "application/octet-stream")
            .body(list.as_bytes());
        for (k, v) in metadata {
            r = r.header(&format!("x-ms-meta-{k}"), v);
        }
        if mode == Mode::Create {
            r = r.header("If-None-Match", "*");
        }
        let outcome = self.put_reply(&r)?;
        Ok(Uploaded {
            outcome,
            bytes,
            blocks,
            content_md5,
            peak_buffers: peak,
        })
    }

    /// Read and send every block; returns (blocks, bytes, peak buffers).
    fn send_blocks(
        &self,
        name: &str,
        tag: &str,
        first: Vec<u8>,
        more: Vec<u8>,
        reader: &mut dyn Read,
        md5: &mut Hasher,
    ) -> Result<(u32, u64, usize)> {
        let gauge = Gauge::default();
        let failed: Mutex<Option<Error>> = Mutex::new(None);
        let stop = AtomicBool::new(false);
        let (tx, rx) = mpsc::sync_channel::<(u32, Vec<u8>)>(0);
        let rx = Mutex::new(rx);
        let mut index: u32 = 0;
        let mut bytes: u64 = 0;
        let base = self.opts.block_size.max(1);
        let fed: Result<()> = std::thread::scope(|s| {
            for _ in 0..self.opts.parallel.max(1) {
                s.spawn(|| self.block_worker(name, tag, &rx, &gauge, &stop, &failed));
            }
            let tx = tx;
            let mut block = first;
            gauge.up();
            // One byte read ahead tells whether another block follows.
            let mut carry = more;
            loop {
                if stop.load(Ordering::SeqCst) {
                    gauge.down();
                    return Ok(());
                }
                if index >= MAX_BLOCKS {
                    gauge.down();
                    return Err(Error::data(format!(
                        "uploading {name}: more than {MAX_BLOCKS} blocks; use a larger block size"
                    )));
                }
                if let Err(e) = md5.update(&block) {
                    gauge.down();
                    return Err(Error::software("MD5").with_source(e));
                }
                bytes += block.len() as u64;
                if tx.send((index, block)).is_err() {
                    gauge.down();
                    return Ok(());
                }
                index += 1;
                if carry.is_empty() {
                    return Ok(());
                }
                gauge.up();
                let mut next = std::mem::take(&mut carry);
                let read = fill(reader, block_len(base, index) - 1).and_then(|rest| {
                    next.extend_from_slice(&rest);
                    fill(reader, 1)
                });
                match read {
                    Ok(c) => carry = c,
                    Err(e) => {
                        gauge.down();
                        return Err(e);
                    }
                }
                block = next;
            }
        });
        fed?;
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            return Err(e);
        }
        Ok((index, bytes, gauge.peak.load(Ordering::SeqCst)))
    }

    fn block_worker(
        &self,
        name: &str,
        tag: &str,
        rx: &Mutex<mpsc::Receiver<(u32, Vec<u8>)>>,
        gauge: &Gauge,
        stop: &AtomicBool,
        failed: &Mutex<Option<Error>>,
    ) {
        loop {
            let job = match rx.lock() {
                Ok(r) => r.recv(),
                Err(_) => return,
            };
            let Ok((i, block)) = job else { return };
            if !stop.load(Ordering::SeqCst)
                && let Err(e) = self.put_block(name, &block_id(tag, i), &block)
            {
                stop.store(true, Ordering::SeqCst);
                if let Ok(mut f) = failed.lock() {
                    f.get_or_insert(e);
                }
            }
            drop(block);
            gauge.down();
        }
    }

    fn put_block(&self, name: &str, id: &str, data: &[u8]) -> Result<()> {
        let md5 = md5_b64(data)?;
        let r = Request::new("PUT", Some(name))
            .query("comp", "block")
            .query("blockid", id)
            .header("Content-MD5", &md5)
            .body(data);
        let reply = self.call(&r)?;
        if reply.ok() {
            Ok(())
        } else {
            Err(self.status_error(&self.what(&r), &reply))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_ids_have_one_length_and_sizes_grow() {
        let a = block_id("0123456789ab", 0);
        let b = block_id("0123456789ab", 49_999);
        assert_eq!(a.len(), b.len());
        assert_eq!(block_len(8 << 20, 0), 8 << 20);
        assert_eq!(block_len(8 << 20, 5000), 16 << 20);
        assert_eq!(block_len(1 << 30, 49_999), MAX_BLOCK);
    }
}
