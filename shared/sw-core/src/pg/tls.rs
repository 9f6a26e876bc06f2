//! TLS for PostgreSQL connections with libpq's sslmode meanings:
//!
//! | sslmode      | encrypt                 | chain checked                     | host name checked |
//! |--------------|-------------------------|-----------------------------------|-------------------|
//! | disable      | no                      | -                                 | -                 |
//! | allow/prefer | if the server offers it | no                                | no                |
//! | require      | yes                     | only if a root certificate is set | no                |
//! | verify-ca    | yes                     | yes                               | no                |
//! | verify-full  | yes                     | yes                               | yes               |
//!
//! Why not postgres-openssl's `MakeTlsConnector`: it only accepts an
//! `SslConnector`, whose constructor parses the whole system CA bundle
//! (about 40 ms per process, measured) even when verification is off or the
//! CA is a private file. This module is the same construction on the same
//! stack (openssl + tokio-openssl, channel binding included) with a bare
//! `SslContext` that loads only the trust anchors the sslmode needs.

use std::error::Error as StdError;
use std::fmt::{self, Debug};
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::ssl::{self, Ssl, SslContext, SslFiletype, SslMethod, SslRef, SslVerifyMode, SslVersion};
use openssl::x509::X509VerifyResult;
use openssl::x509::verify::X509CheckFlags;
use tokio::io::{AsyncRead, AsyncWrite, BufReader, ReadBuf};
use tokio_openssl::SslStream;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

use crate::error::{Context, Error, Result};
use crate::exit::Exit;
use crate::fsutil::q;
use crate::target::{RootCert, SslMode, Target};

/// How much of the server certificate is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    None,
    Chain,
    Full,
}

/// The verification level libpq applies for a target.
pub fn verify_level(t: &Target) -> Verify {
    match t.sslmode {
        SslMode::Disable | SslMode::Allow | SslMode::Prefer => Verify::None,
        // libpq: "if a root CA file exists, require behaves like verify-ca".
        SslMode::Require if t.sslrootcert != RootCert::None => Verify::Chain,
        SslMode::Require => Verify::None,
        SslMode::VerifyCa => Verify::Chain,
        SslMode::VerifyFull => Verify::Full,
    }
}

/// Makes one TLS session per connection attempt.
#[derive(Clone)]
pub struct MakeTls {
    ctx: SslContext,
    verify: Verify,
}

/// Build the TLS context for a target.
pub fn connector(t: &Target) -> Result<MakeTls> {
    let mut b =
        SslContext::builder(SslMethod::tls_client()).context(Exit::Software, || "initialising OpenSSL".into())?;
    b.set_min_proto_version(Some(SslVersion::TLS1_2))
        .context(Exit::Software, || "configuring TLS".into())?;
    b.set_cipher_list("DEFAULT:!aNULL:!eNULL:!MD5:!3DES:!DES:!RC4:!IDEA:!SEED:!aDSS:!SRP:!PSK")
        .context(Exit::Software, || "configuring TLS ciphers".into())?;
    let verify = verify_level(t);
    match verify {
        Verify::None => b.set_verify(SslVerifyMode::NONE),
        Verify::Chain | Verify::Full => {
            b.set_verify(SslVerifyMode::PEER);
            match &t.sslrootcert {
                RootCert::File(p) => {
                    if !p.exists() {
                        return Err(Error::config(format!("root certificate file {} does not exist", q(p))));
                    }
                    b.set_ca_file(p)
                        .context(Exit::Config, || format!("loading root certificate {}", q(p)))?;
                }
                RootCert::System | RootCert::None => b
                    .set_default_verify_paths()
                    .context(Exit::Config, || "loading the system certificate store".into())?,
            }
        }
    }
    if let Some(cert) = &t.sslcert {
        b.set_certificate_chain_file(cert)
            .context(Exit::Config, || format!("loading client certificate {}", q(cert)))?;
        let key = t.sslkey.clone().unwrap_or_else(|| cert.with_extension("key"));
        b.set_private_key_file(&key, SslFiletype::PEM)
            .context(Exit::Config, || format!("loading client key {}", q(&key)))?;
    }
    Ok(MakeTls { ctx: b.build(), verify })
}

impl<S> MakeTlsConnect<S> for MakeTls
where
    S: AsyncRead + AsyncWrite + Unpin + Debug + 'static + Sync + Send,
{
    type Stream = TlsStream<S>;
    type TlsConnect = Connect;
    type Error = ErrorStack;

    fn make_tls_connect(&mut self, domain: &str) -> std::result::Result<Connect, ErrorStack> {
        let mut ssl = Ssl::new(&self.ctx)?;
        let ip = domain.parse::<IpAddr>();
        // SNI only for host names (not IPs, not the empty name tokio-postgres
        // passes for Unix sockets).
        if ip.is_err() && !domain.is_empty() && !domain.starts_with('/') {
            ssl.set_hostname(domain)?;
        }
        if self.verify == Verify::Full {
            let p = ssl.param_mut();
            p.set_hostflags(X509CheckFlags::NO_PARTIAL_WILDCARDS);
            match ip {
                Ok(ip) => p.set_ip(ip)?,
                Err(_) => p.set_host(domain)?,
            }
        }
        Ok(Connect { ssl })
    }
}

/// One pending TLS handshake.
pub struct Connect {
    ssl: Ssl,
}

impl<S> TlsConnect<S> for Connect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = TlsStream<S>;
    type Error = Box<dyn StdError + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = std::result::Result<TlsStream<S>, Self::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let mut stream = SslStream::new(self.ssl, BufReader::with_capacity(8192, stream))?;
            match Pin::new(&mut stream).connect().await {
                Ok(()) => Ok(TlsStream(stream)),
                Err(error) => {
                    let verify_result = stream.ssl().verify_result();
                    Err(Box::new(HandshakeError { error, verify_result }) as _)
                }
            }
        })
    }
}

/// A failed handshake, with the certificate verdict when there is one.
#[derive(Debug)]
struct HandshakeError {
    error: ssl::Error,
    verify_result: X509VerifyResult,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.verify_result == X509VerifyResult::OK {
            write!(f, "TLS handshake failed: {}", self.error)
        } else {
            write!(f, "server certificate rejected: {}", self.verify_result)
        }
    }
}

impl StdError for HandshakeError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.error)
    }
}

/// An established TLS stream.
pub struct TlsStream<S>(SslStream<BufReader<S>>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlsStream<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlsStream<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> tokio_postgres::tls::TlsStream for TlsStream<S> {
    /// tls-server-end-point channel binding (RFC 5929), so SCRAM-SHA-256-PLUS
    /// ties authentication to this TLS session.
    fn channel_binding(&self) -> ChannelBinding {
        match server_end_point(self.0.ssl()) {
            Some(buf) => ChannelBinding::tls_server_end_point(buf),
            None => ChannelBinding::none(),
        }
    }
}

fn server_end_point(ssl: &SslRef) -> Option<Vec<u8>> {
    let cert = ssl.peer_certificate()?;
    let algs = cert.signature_algorithm().object().nid().signature_algorithms()?;
    // RFC 5929 §4.1: MD5 and SHA-1 are replaced by SHA-256.
    let md = match algs.digest {
        Nid::MD5 | Nid::SHA1 => MessageDigest::sha256(),
        nid => MessageDigest::from_nid(nid)?,
    };
    cert.digest(md).ok().map(|d| d.to_vec())
}
