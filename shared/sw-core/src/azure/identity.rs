//! Managed identity, workload identity and Azure CLI tokens through
//! `azure_identity` (STYLE.md §8), behind our [`TokenSource`].
//!
//! `azure_identity` and `azure_core` are built with default features off,
//! so they bring neither reqwest nor tokio nor a second TLS stack; their
//! HTTP goes through [`UreqTransport`] (the same ureq agent and native-tls
//! stack as every ARM call) and their futures are driven by [`run`], a
//! minimal blocking executor: the transport is synchronous, and the only
//! other waits are azure_core's thread-based sleep and the CLI executor's
//! thread, both of which complete without a waker.
//!
//! Client secrets stay with our own form post (`token::Credential`), as
//! STYLE.md §8 recommends: azure_identity insists on an https authority,
//! which would put a TLS server into every test of the token flow.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use azure_core::error::ErrorKind;
use azure_core::http::headers::Headers;
use azure_core::http::{AsyncRawResponse, Body, ClientOptions, HttpClient, Request, StatusCode, Transport};

use super::TokenSource;
use crate::error::{Error, Result};

/// Drive a future to completion on this thread.
pub fn run<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        // Nothing here registers wake-ups; poll again shortly.
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// azure_core's `HttpClient` over our ureq agent.
#[derive(Debug)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// The transport with sw's agent.
    pub fn new() -> UreqTransport {
        UreqTransport { agent: super::agent() }
    }

    fn execute(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let body = match request.body() {
            Body::Bytes(b) => b.to_vec(),
            Body::SeekableStream(_) => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "streaming request bodies are not supported by the ureq transport",
                ));
            }
        };
        let method = request.method().to_string();
        let mut b = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(request.url().as_str());
        for (k, v) in request.headers().iter() {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b.body(body).map_err(|e| azure_core::Error::new(ErrorKind::Other, e))?;
        let mut res = self.agent.run(req).map_err(transport_error)?;
        let mut headers = Headers::new();
        for (k, v) in res.headers() {
            headers.insert(
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            );
        }
        let status = StatusCode::from(res.status().as_u16());
        let bytes = res
            .body_mut()
            .read_to_vec()
            .map_err(|e| azure_core::Error::new(ErrorKind::Io, e))?;
        Ok(AsyncRawResponse::from_bytes(status, headers, bytes))
    }
}

/// azure_core retries `Io` errors for up to a minute; a certificate or
/// TLS failure does not heal by retrying, so it is `Other` (not retried).
/// Either way [`auth_error`] finds the ureq error in the chain and reports
/// the endpoint as unreachable (69), not the credential as refused.
fn transport_error(e: ureq::Error) -> azure_core::Error {
    let kind = match &e {
        ureq::Error::Tls(_) | ureq::Error::NativeTls(_) | ureq::Error::Der(_) | ureq::Error::TlsRequired => {
            ErrorKind::Other
        }
        _ => ErrorKind::Io,
    };
    azure_core::Error::new(kind, e)
}

/// The transport failure (a ureq error, with its causes) behind `e`, if one caused it.
fn transport_cause(e: &azure_core::Error) -> Option<String> {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if s.is::<ureq::Error>() {
            let mut text = s.to_string();
            let mut inner = s.source();
            while let Some(i) = inner {
                text = format!("{text}: {i}");
                inner = i.source();
            }
            return Some(text);
        }
        src = s.source();
    }
    None
}

impl Default for UreqTransport {
    fn default() -> UreqTransport {
        UreqTransport::new()
    }
}

// Written out as `#[async_trait]` expands it, so sw-core needs no macro crate.
impl HttpClient for UreqTransport {
    fn execute_request<'life0, 'life1, 'async_trait>(
        &'life0 self,
        request: &'life1 Request,
    ) -> Pin<Box<dyn Future<Output = azure_core::Result<AsyncRawResponse>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let res = self.execute(request);
        Box::pin(async move { res })
    }
}

/// Client options whose transport is [`UreqTransport`].
pub fn client_options() -> ClientOptions {
    ClientOptions {
        transport: Some(Transport::new(Arc::new(UreqTransport::new()))),
        ..ClientOptions::default()
    }
}

/// A `TokenCredential` as a [`TokenSource`] (the credential caches tokens
/// and refreshes them before expiry itself).
#[derive(Debug)]
pub struct Identity {
    cred: Arc<dyn TokenCredential>,
    scope: String,
    kind: &'static str,
}

fn auth_error(kind: &str, e: &azure_core::Error) -> Error {
    // One line: azure_identity's messages can span several.
    let msg: String = e.to_string().split_whitespace().collect::<Vec<_>>().join(" ");
    let msg = crate::secret::redact(&msg);
    if let Some(cause) = transport_cause(e) {
        let cause: String = crate::secret::redact(&cause)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Error::unavailable(format!("{kind}: {msg}: {cause}"));
    }
    match e.kind() {
        ErrorKind::Io => Error::unavailable(format!("{kind}: {msg}")),
        ErrorKind::HttpResponse { status, .. } if u16::from(*status) >= 500 => {
            Error::unavailable(format!("{kind}: {msg}"))
        }
        _ => Error::no_perm(format!("{kind}: {msg}")),
    }
}

impl Identity {
    /// Managed identity (App Service, Arc, Service Fabric, Cloud Shell,
    /// Azure ML or IMDS, picked by azure_identity from the environment);
    /// `client_id` selects a user-assigned identity.
    pub fn managed(resource: &str, client_id: Option<String>) -> Result<Identity> {
        let o = azure_identity::ManagedIdentityCredentialOptions {
            client_options: client_options(),
            user_assigned_id: client_id.map(azure_identity::UserAssignedId::ClientId),
        };
        let cred =
            azure_identity::ManagedIdentityCredential::new(Some(o)).map_err(|e| auth_error("managed identity", &e))?;
        Ok(Identity {
            cred,
            scope: format!("{resource}.default"),
            kind: "managed identity",
        })
    }

    /// Workload identity: a federated token file exchanged at the tenant,
    /// at a given authority host (sovereign clouds; `None`:
    /// `AZURE_AUTHORITY_HOST`, else the public cloud). https only.
    pub fn workload_at(
        resource: &str,
        authority: Option<&str>,
        tenant_id: String,
        client_id: String,
        token_file: std::path::PathBuf,
    ) -> Result<Identity> {
        let mut client_options = client_options();
        if let Some(host) = authority {
            let mut cloud = azure_core::cloud::CustomConfiguration::default();
            cloud.authority_host = host.to_owned();
            client_options.cloud = Some(Arc::new(cloud.into()));
        }
        let o = azure_identity::WorkloadIdentityCredentialOptions {
            credential_options: azure_identity::ClientAssertionCredentialOptions { client_options },
            tenant_id: Some(tenant_id),
            client_id: Some(client_id),
            token_file_path: Some(token_file),
        };
        let cred = azure_identity::WorkloadIdentityCredential::new(Some(o))
            .map_err(|e| Error::config(format!("workload identity: {e}")))?;
        Ok(Identity {
            cred,
            scope: format!("{resource}.default"),
            kind: "workload identity",
        })
    }

    /// The Azure CLI's logged-in account (`az account get-access-token`).
    pub fn azure_cli(resource: &str) -> Result<Identity> {
        let cred = azure_identity::AzureCliCredential::new(None).map_err(|e| auth_error("Azure CLI", &e))?;
        Ok(Identity {
            cred,
            scope: format!("{resource}.default"),
            kind: "Azure CLI",
        })
    }
}

impl TokenSource for Identity {
    fn token(&self) -> Result<String> {
        let t = run(self.cred.get_token(&[self.scope.as_str()], None)).map_err(|e| auth_error(self.kind, &e))?;
        let s = t.token.secret().to_owned();
        crate::secret::register(&s);
        Ok(s)
    }
    fn describe(&self) -> String {
        self.kind.to_owned()
    }
}
