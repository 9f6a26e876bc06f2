//! `sw-health --azure`: an Azure Database for PostgreSQL Flexible Server
//! through the Resource Manager API. The flags name the server (or an env
//! file does); a run reads the server, its metrics (one request for all
//! of them, [`metrics`]) and its backups, three round trips at the same time
//! ([`fetch`]), each within `--arm-timeout` and what is left of the
//! `--deadline`, tried once. The checks that judge them are
//! `crate::checks::azure`.

pub mod fetch;
pub mod metrics;

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use sw_core::azure::flexible::target::{Auth, AzureOpts, ServerRef};
use sw_core::azure::token::AuthMethod;
use sw_core::azure::{ArmClient, Endpoints, token_source_from_env};
use sw_core::config::Env;
use sw_core::envfile::EnvFile;
use sw_core::fsutil::q;
use sw_core::{Error, IoContext, Result};

/// The Azure flags of `sw-health check` and `serve`.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Azure Flexible Server")]
pub struct AzureArgs {
    /// Check an Azure Database for PostgreSQL Flexible Server through the
    /// Resource Manager API (server state, HA, storage, metrics, backups);
    /// with --db or --env-file its SQL checks too, in the same report.
    #[arg(long, conflicts_with = "targets")]
    pub azure: bool,
    /// The Flexible Server (selects --azure): its name (with
    /// --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME.
    #[arg(long, value_name = "NAME|ID", conflicts_with = "targets")]
    pub server: Option<String>,
    /// Subscription id (default: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,
    /// The server's resource group.
    #[arg(long, value_name = "NAME")]
    pub resource_group: Option<String>,
    /// Env file naming the server (selects --azure): AZURE_SERVER (a name
    /// or an ARM id), AZURE_RESOURCE_GROUP, AZURE_SUBSCRIPTION_ID; the flags win.
    #[arg(long, value_name = "FILE", conflicts_with = "targets")]
    pub azure_env_file: Option<PathBuf>,
    /// How to get a Resource Manager token.
    #[arg(long, value_enum, default_value_t = Auth::Auto)]
    pub auth: Auth,
    /// Resource Manager endpoint (sovereign clouds, tests; default SW_AZURE_ARM_ENDPOINT or https://management.azure.com).
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Entra ID authority host (default SW_AZURE_TOKEN_ENDPOINT, AZURE_AUTHORITY_HOST or https://login.microsoftonline.com).
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// Time one Resource Manager round trip may take (capped by what is
    /// left of --deadline); one that takes longer, fails or is throttled
    /// makes its checks UNKNOWN.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = sw_core::duration::parse_at_most_a_day)]
    pub arm_timeout: Duration,
}

/// The server a run checks and how to reach it, resolved once.
#[derive(Debug, Clone)]
pub struct Spec {
    pub server: ServerRef,
    endpoints: Endpoints,
    auth: AuthMethod,
    pub arm_timeout: Duration,
}

impl AzureArgs {
    /// Whether the Azure checks were asked for.
    pub fn selected(&self) -> bool {
        self.azure || self.server.is_some() || self.azure_env_file.is_some()
    }

    /// The server and endpoints, checked (None without --azure).
    ///
    /// # Errors
    /// 64 without a server or a resource group; 66/74/77 for an env file
    /// that cannot be read, 78 for one that is not valid, for no valid
    /// subscription id or for incomplete credentials.
    pub fn spec(&self) -> Result<Option<Spec>> {
        if !self.selected() {
            return Ok(None);
        }
        let mut o = AzureOpts {
            azure: true,
            server: self.server.clone(),
            subscription: self.subscription.clone(),
            resource_group: self.resource_group.clone(),
            ..AzureOpts::default()
        };
        if let Some(f) = &self.azure_env_file {
            let text = std::fs::read_to_string(f).io_context(|| format!("reading {}", q(f)))?;
            let env = EnvFile::parse(&text).map_err(|e| Error::config(format!("{}: {}", q(f), e.message())))?;
            let from = |k: &str| env.get(k).filter(|v| !v.is_empty()).map(str::to_owned);
            o.server = o.server.or_else(|| from("AZURE_SERVER"));
            o.resource_group = o.resource_group.or_else(|| from("AZURE_RESOURCE_GROUP"));
            o.subscription = o.subscription.or_else(|| from("AZURE_SUBSCRIPTION_ID"));
        }
        let server = o.server_ref()?;
        let env = Env::process();
        let endpoints = Endpoints::from_env(&env, self.arm_endpoint.as_deref(), self.token_endpoint.as_deref());
        let auth = match self.auth {
            Auth::Auto => AuthMethod::Auto,
            Auth::ClientSecret => AuthMethod::ClientSecret,
            Auth::WorkloadIdentity => AuthMethod::WorkloadIdentity,
            Auth::ManagedIdentity => AuthMethod::ManagedIdentity,
            Auth::AzureCli => AuthMethod::AzureCli,
        };
        // Incomplete credentials are a configuration error now, not an UNKNOWN every run.
        token_source_from_env(&env, &endpoints, auth)?;
        Ok(Some(Spec {
            server,
            endpoints,
            auth,
            arm_timeout: self.arm_timeout,
        }))
    }
}

impl Spec {
    /// A client whose every round trip ends within `within`, tried once.
    ///
    /// # Errors
    /// 78 with incomplete credentials.
    pub fn client(&self, within: Duration) -> Result<ArmClient> {
        let env = Env::process();
        let tokens = token_source_from_env(&env, &self.endpoints, self.auth)?;
        Ok(ArmClient::new(self.endpoints.clone(), tokens).within(within))
    }
}
