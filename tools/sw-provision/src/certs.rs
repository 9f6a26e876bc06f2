//! A private CA and a server certificate signed by it (ECDSA P-256).
//!
//! The CA certificate is what clients pin with `sslrootcert` and
//! `sslmode=verify-full`; the CA key stays beside the cluster (0600) so a
//! later run can re-issue the server certificate when its names change
//! without invalidating what clients already trust.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName};
use openssl::x509::{X509, X509NameBuilder};
use sw_core::fsutil::{self, q};
use sw_core::{Error, IoContext, Result};

/// Where the TLS files of a cluster live.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The CA certificate for clients (0644).
    pub ca_cert: PathBuf,
    /// The CA key (0600, owned by whoever runs sw-provision, not by the
    /// server's OS user: the server never needs it).
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl Paths {
    /// The layout under a provision directory.
    pub fn under(dir: &Path) -> Paths {
        Paths {
            ca_cert: dir.join("ca.crt"),
            ca_key: dir.join("ca.key"),
            server_cert: dir.join("tls/server.crt"),
            server_key: dir.join("tls/server.key"),
        }
    }
}

fn ssl(e: openssl::error::ErrorStack) -> Error {
    Error::software("generating TLS certificates").with_source(e)
}

fn new_key() -> Result<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).map_err(ssl)?;
    PKey::from_ec_key(EcKey::generate(&group).map_err(ssl)?).map_err(ssl)
}

fn build(
    subject: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    names: &[String],
    days: u32,
) -> std::result::Result<X509, openssl::error::ErrorStack> {
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    let mut n = X509NameBuilder::new()?;
    n.append_entry_by_text("CN", subject)?;
    let name = n.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = serial.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_pubkey(key)?;
    let nb = Asn1Time::days_from_now(0)?;
    let na = Asn1Time::days_from_now(days)?;
    b.set_not_before(&nb)?;
    b.set_not_after(&na)?;
    match issuer {
        None => {
            b.set_issuer_name(&name)?;
            b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
            b.append_extension(KeyUsage::new().critical().key_cert_sign().crl_sign().build()?)?;
            b.sign(key, MessageDigest::sha256())?;
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name())?;
            let mut san = SubjectAlternativeName::new();
            for n in names {
                if n.parse::<IpAddr>().is_ok() {
                    san.ip(n);
                } else {
                    san.dns(n);
                }
            }
            let ext = san.build(&b.x509v3_context(Some(ca), None))?;
            b.append_extension(ext)?;
            b.append_extension(ExtendedKeyUsage::new().server_auth().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()?,
            )?;
            b.sign(ca_key, MessageDigest::sha256())?;
        }
    }
    Ok(b.build())
}

fn read_pem(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).io_context(|| format!("reading {}", q(path)))
}

/// The certificate at `path`.
pub fn load(path: &Path) -> Result<X509> {
    X509::from_pem(&read_pem(path)?)
        .map_err(|e| Error::data(format!("{} is not a PEM certificate", q(path))).with_source(e))
}

/// The DNS names and IP addresses a certificate is valid for.
pub fn cert_names(cert: &X509) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sans) = cert.subject_alt_names() {
        for s in &sans {
            if let Some(d) = s.dnsname() {
                out.push(d.to_owned());
            } else if let Some(ip) = s.ipaddress() {
                let ip = match ip.len() {
                    4 => <[u8; 4]>::try_from(ip).ok().map(|a| IpAddr::from(a).to_string()),
                    16 => <[u8; 16]>::try_from(ip).ok().map(|a| IpAddr::from(a).to_string()),
                    _ => None,
                };
                out.extend(ip);
            }
        }
    }
    out
}

/// Whether the certificate expires within `days` days (then a re-run
/// issues a new one rather than let clients fail on expiry).
pub fn expires_within(cert: &X509, days: u32) -> Result<bool> {
    let limit = Asn1Time::days_from_now(days).map_err(ssl)?;
    Ok(cert.not_after() < limit)
}

/// Create the CA when missing.
pub fn ensure_ca(p: &Paths) -> Result<()> {
    if p.ca_cert.exists() && p.ca_key.exists() {
        return Ok(());
    }
    let key = new_key()?;
    let ca = build("sw-provision local CA", &key, None, &[], 3650).map_err(ssl)?;
    fsutil::atomic_write(&p.ca_key, &key.private_key_to_pem_pkcs8().map_err(ssl)?, 0o600)?;
    fsutil::atomic_write(&p.ca_cert, &ca.to_pem().map_err(ssl)?, 0o644)
}

/// Issue (or re-issue) the server certificate for `names` from the CA.
pub fn issue_server(p: &Paths, names: &[String]) -> Result<()> {
    let ca = X509::from_pem(&read_pem(&p.ca_cert)?).map_err(ssl)?;
    let ca_key = PKey::private_key_from_pem(&read_pem(&p.ca_key)?).map_err(ssl)?;
    let key = new_key()?;
    let cn = names.first().map_or("localhost", String::as_str);
    let cert = build(cn, &key, Some((&ca, &ca_key)), names, 825).map_err(ssl)?;
    fsutil::atomic_write(&p.server_key, &key.private_key_to_pem_pkcs8().map_err(ssl)?, 0o600)?;
    fsutil::atomic_write(&p.server_cert, &cert.to_pem().map_err(ssl)?, 0o644)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_a_server_certificate_with_its_names() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("tls")).unwrap();
        let p = Paths::under(d.path());
        ensure_ca(&p).unwrap();
        issue_server(&p, &["localhost".into(), "127.0.0.1".into(), "::1".into()]).unwrap();
        let server = load(&p.server_cert).unwrap();
        assert_eq!(cert_names(&server), ["localhost", "127.0.0.1", "::1"]);
        assert!(!expires_within(&server, 30).unwrap());
        // A certificate about to expire is due for renewal.
        let key = new_key().unwrap();
        let ca = X509::from_pem(&std::fs::read(&p.ca_cert).unwrap()).unwrap();
        let ca_key = PKey::private_key_from_pem(&std::fs::read(&p.ca_key).unwrap()).unwrap();
        let short = build("localhost", &key, Some((&ca, &ca_key)), &["localhost".into()], 5).unwrap();
        assert!(expires_within(&short, 30).unwrap());
    }
}
