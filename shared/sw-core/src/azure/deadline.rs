//! Round trips with a deadline, for callers that judge rather than wait
//! (sw-health's Azure checks): each request must answer within a time
//! (connecting included) and is tried once, so a throttled or slow
//! Resource Manager costs one check its value, never the run its deadline.

use std::time::Duration;

use super::ArmClient;

/// An agent whose every request (connect, send, read) ends within `d`.
pub fn agent_within(d: Duration) -> ureq::Agent {
    use ureq::tls::{RootCerts, TlsConfig, TlsProvider};
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(d.min(Duration::from_secs(15))))
        .timeout_global(Some(d))
        .user_agent(concat!("sw/", env!("CARGO_PKG_VERSION")))
        .tls_config(
            TlsConfig::builder()
                .provider(TlsProvider::NativeTls)
                .root_certs(RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into()
}

impl ArmClient {
    /// Each request answers within `d` and is sent once: a 429 or a 5xx is
    /// the request's error (exit 75), not a wait for `Retry-After`.
    #[must_use]
    pub fn within(mut self, d: Duration) -> ArmClient {
        self.agent = agent_within(d.max(Duration::from_millis(1)));
        self.policy.attempts = 1;
        self
    }
}
