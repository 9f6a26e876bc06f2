//! Each property of the chunked format, on 64-byte chunks.

use super::*;

const CHUNK: usize = 64;

fn seal(key: &DataKey, id: &str, plain: &[u8]) -> Vec<u8> {
    let mut e = Encryptor::with_chunk_size(key, id, Vec::new(), CHUNK).unwrap();
    // Odd-sized writes cross chunk boundaries.
    for part in plain.chunks(7) {
        e.write_all(part).unwrap();
    }
    e.finish().unwrap()
}

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

fn chunk_at(i: usize) -> std::ops::Range<usize> {
    let start = HEADER_LEN + i * (CHUNK + TAG_LEN);
    start..start + CHUNK + TAG_LEN
}

#[test]
fn round_trips_at_every_boundary() {
    let key = DataKey::generate().unwrap();
    for n in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 5] {
        let plain = data(n);
        let sealed = seal(&key, "obj", &plain);
        let chunks = n / CHUNK + usize::from(n % CHUNK != 0 || n == 0);
        assert_eq!(sealed.len(), HEADER_LEN + n + chunks * TAG_LEN, "{n}");
        assert_eq!(decrypt(&key, "obj", &sealed).unwrap(), plain, "{n}");
        // Reading in small pieces works too.
        let mut d = Decryptor::new(&key, "obj", &sealed[..]).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 5];
        loop {
            let k = d.read(&mut buf).unwrap();
            if k == 0 {
                break;
            }
            out.extend_from_slice(&buf[..k]);
        }
        assert_eq!(out, plain);
    }
    assert!(
        !seal(&key, "obj", b"a known marker row")
            .windows(6)
            .any(|w| w == b"marker")
    );
    // The one-shot helper uses the default chunk size.
    assert_eq!(
        decrypt(&key, "x", &encrypt(&key, "x", b"abc").unwrap()).unwrap(),
        b"abc"
    );
}

#[test]
fn a_flipped_byte_names_its_chunk() {
    let key = DataKey::generate().unwrap();
    let mut sealed = seal(&key, "obj", &data(3 * CHUNK + 10));
    sealed[chunk_at(2).start + 3] ^= 0x01;
    let e = decrypt(&key, "obj", &sealed).unwrap_err();
    assert_eq!(e.exit(), Exit::DataErr);
    assert!(e.to_string().contains("chunk 2 failed authentication"), "{e}");
    // A flipped header byte (salt) breaks the first chunk.
    let mut sealed = seal(&key, "obj", &data(10));
    sealed[MAGIC.len() + 6] ^= 0x80;
    assert!(
        decrypt(&key, "obj", &sealed)
            .unwrap_err()
            .to_string()
            .contains("chunk 0")
    );
}

#[test]
fn truncation_is_detected_at_a_boundary_and_inside_a_chunk() {
    let key = DataKey::generate().unwrap();
    let sealed = seal(&key, "obj", &data(3 * CHUNK + 10));
    let e = decrypt(&key, "obj", &sealed[..chunk_at(2).start]).unwrap_err();
    assert!(e.to_string().contains("truncated after chunk 1"), "{e}");
    let e = decrypt(&key, "obj", &sealed[..chunk_at(2).start + 20]).unwrap_err();
    assert!(e.to_string().contains("chunk 2"), "{e}");
    let e = decrypt(&key, "obj", &sealed[..HEADER_LEN]).unwrap_err();
    assert!(e.to_string().contains("shorter than its tag"), "{e}");
    assert!(
        decrypt(&key, "obj", &sealed[..10])
            .unwrap_err()
            .to_string()
            .contains("header")
    );
    // An exact multiple of the chunk size cut at its last boundary.
    let sealed = seal(&key, "obj", &data(2 * CHUNK));
    let e = decrypt(&key, "obj", &sealed[..chunk_at(1).start]).unwrap_err();
    assert!(e.to_string().contains("truncated after chunk 0"), "{e}");
}

#[test]
fn reordered_chunks_fail() {
    let key = DataKey::generate().unwrap();
    let sealed = seal(&key, "obj", &data(3 * CHUNK + 10));
    let mut swapped = sealed.clone();
    let (a, b) = (chunk_at(0), chunk_at(1));
    swapped[a.clone()].copy_from_slice(&sealed[b.clone()]);
    swapped[b].copy_from_slice(&sealed[a]);
    let e = decrypt(&key, "obj", &swapped).unwrap_err();
    assert!(e.to_string().contains("chunk 0 failed authentication"), "{e}");
}

#[test]
fn swapped_objects_and_wrong_keys_fail() {
    let key = DataKey::generate().unwrap();
    let a = seal(&key, "wal/000000010000000000000001", &data(100));
    let e = decrypt(&key, "wal/000000010000000000000002", &a).unwrap_err();
    assert!(e.to_string().contains("wal/000000010000000000000002: chunk 0"), "{e}");
    let other = DataKey::generate().unwrap();
    assert_eq!(
        decrypt(&other, "wal/000000010000000000000001", &a).unwrap_err().exit(),
        Exit::DataErr
    );
    // Chunks spliced in from another object of the same key fail too.
    let b = seal(&key, "other", &data(100));
    let mut spliced = a.clone();
    spliced[chunk_at(1).start..].copy_from_slice(&b[chunk_at(1).start..]);
    assert!(decrypt(&key, "wal/000000010000000000000001", &spliced).is_err());
}

#[test]
fn bad_headers_are_named() {
    let key = DataKey::generate().unwrap();
    let mut sealed = seal(&key, "obj", b"x");
    sealed[MAGIC.len()] = 9;
    let e = decrypt(&key, "obj", &sealed).unwrap_err();
    assert!(e.to_string().contains("format version 9"), "{e}");
    let e = decrypt(
        &key,
        "obj",
        b"plain text that is long enough to be a header, or so it seems",
    )
    .unwrap_err();
    assert!(e.to_string().contains("not an sw encrypted object"), "{e}");
    assert!(Encryptor::with_chunk_size(&key, "o", Vec::new(), 1).is_err());
}

#[test]
fn content_derived_sealing_is_stable_per_content_and_id() {
    let k = DataKey::generate().unwrap();
    let seal = |id: &str, data: &[u8]| {
        let sha = openssl::sha::sha256(data);
        let mut e = Encryptor::for_content(&k, id, Vec::new(), &sha).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    };
    let a = seal("w/1", b"segment one");
    assert_eq!(a, seal("w/1", b"segment one"));
    assert_ne!(a[..HEADER_LEN], seal("w/1", b"segment two")[..HEADER_LEN]);
    assert_ne!(a[..HEADER_LEN], seal("w/2", b"segment one")[..HEADER_LEN]);
    assert_eq!(decrypt(&k, "w/1", &a).unwrap(), b"segment one");
}
