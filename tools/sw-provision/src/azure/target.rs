//! Which server, and how to reach ARM: the flags every `azure` command
//! shares, the ARM paths under the server, and the client with its
//! credential and polling policy.

use std::time::Duration;

use clap::{Args, ValueEnum};
use sw_core::azure::token::AuthMethod;
use sw_core::azure::{ArmClient, Endpoints, token_source_from_env};
use sw_core::config::Env;
use sw_core::{Error, Result};

/// The api-version every request uses.
pub use sw_core::azure::flexible::API_VERSION;

/// Which credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Auth {
    /// AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS.
    Auto,
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

/// Which server, and how to reach ARM.
#[derive(Args, Debug, Clone)]
pub struct Target {
    /// Subscription id (default: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,
    /// Resource group (must exist).
    #[arg(long, value_name = "NAME")]
    pub resource_group: String,
    /// Server name (3-63 lowercase letters, digits and inner hyphens).
    #[arg(long, value_name = "NAME", value_parser = parse_server_name)]
    pub name: String,
    /// How to get a token.
    #[arg(long, value_enum, default_value_t = Auth::Auto)]
    pub auth: Auth,
    /// Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com).
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com).
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// Poll interval when Azure sends no Retry-After.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = sw_core::duration::parse)]
    pub poll_interval: Duration,
    /// Give up waiting for one operation after this long (exit 75; run again to re-attach).
    #[arg(long, value_name = "DURATION", default_value = "3h", value_parser = sw_core::duration::parse)]
    pub operation_timeout: Duration,
}

impl Target {
    /// The subscription: --subscription, else AZURE_SUBSCRIPTION_ID
    /// (empty when neither; [`Target::client`] refuses that first).
    pub fn subscription(&self) -> String {
        self.subscription
            .clone()
            .or_else(|| Env::process().get("AZURE_SUBSCRIPTION_ID"))
            .unwrap_or_default()
    }

    /// The server's ARM id.
    pub fn server_id(&self) -> String {
        self.id_of(&self.name)
    }

    /// The ARM id of server `name` in the same subscription and resource group.
    pub fn id_of(&self, name: &str) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{name}",
            self.subscription(),
            self.resource_group,
        )
    }

    /// A path under the server, with the api-version.
    pub fn path(&self, sub: &str) -> String {
        format!("{}{sub}?api-version={API_VERSION}", self.server_id())
    }

    /// The location capabilities of `location` (what SKUs, sizes and features it offers).
    pub fn capabilities_path(&self, location: &str) -> String {
        format!(
            "/subscriptions/{}/providers/Microsoft.DBforPostgreSQL/locations/{location}/capabilities?api-version={API_VERSION}",
            self.subscription(),
        )
    }

    /// The client for this target.
    ///
    /// # Errors
    /// 78 without a valid subscription id or with incomplete credentials.
    pub fn client(&self) -> Result<ArmClient> {
        let sub = self.subscription();
        if sub.is_empty() || !sub.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::config(format!(
                "no valid subscription id ({sub:?}): pass --subscription or set AZURE_SUBSCRIPTION_ID"
            )));
        }
        let env = Env::process();
        let ep = Endpoints::from_env(&env, self.arm_endpoint.as_deref(), self.token_endpoint.as_deref());
        let method = match self.auth {
            Auth::Auto => AuthMethod::Auto,
            Auth::ClientSecret => AuthMethod::ClientSecret,
            Auth::WorkloadIdentity => AuthMethod::WorkloadIdentity,
            Auth::ManagedIdentity => AuthMethod::ManagedIdentity,
            Auth::AzureCli => AuthMethod::AzureCli,
        };
        let mut c = ArmClient::new(ep.clone(), token_source_from_env(&env, &ep, method)?);
        c.policy.poll_interval = self.poll_interval;
        c.policy.operation_timeout = self.operation_timeout;
        c.policy.base_delay = self.poll_interval.min(Duration::from_secs(2));
        Ok(c)
    }
}

pub use sw_core::azure::flexible::{parse_region, parse_server_name, region};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_regions() {
        assert!(parse_server_name("orders-db").is_ok());
        for bad in ["ab", "Orders", "-db", "db-", "a--b"] {
            assert!(parse_server_name(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_region("East US").unwrap(), "eastus");
        assert!(parse_region("east-us").is_err());
    }
}
