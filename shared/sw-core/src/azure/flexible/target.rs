//! Which Flexible Server a command works on, and the ARM client for it:
//! the `--azure` flag group sw-backup and sw-restore flatten into the
//! commands that also work on a local cluster. `--azure`, or a `--server`
//! (which names a Flexible Server: a local cluster has no such flag),
//! selects the Azure path.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::{API_VERSION, parse_server_name};
use crate::azure::token::AuthMethod;
use crate::azure::{ArmClient, Endpoints, token_source_from_env};
use crate::config::Env;
use crate::error::{Error, Result};

/// Which credential to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Auth {
    /// AZURE_CLIENT_SECRET, then AZURE_FEDERATED_TOKEN_FILE, then IDENTITY_ENDPOINT, then `az` if on PATH, else IMDS.
    #[default]
    Auto,
    ClientSecret,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
}

impl Auth {
    fn method(self) -> AuthMethod {
        match self {
            Auth::Auto => AuthMethod::Auto,
            Auth::ClientSecret => AuthMethod::ClientSecret,
            Auth::WorkloadIdentity => AuthMethod::WorkloadIdentity,
            Auth::ManagedIdentity => AuthMethod::ManagedIdentity,
            Auth::AzureCli => AuthMethod::AzureCli,
        }
    }
}

/// The Azure flags of a command that works on a local cluster or a
/// Flexible Server.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Azure Flexible Server")]
pub struct AzureOpts {
    /// Work on an Azure Database for PostgreSQL Flexible Server (through the Resource Manager API) instead of a local cluster.
    #[arg(long)]
    pub azure: bool,
    /// The Flexible Server (selects Azure by itself): its name (with --resource-group), or its ARM id /subscriptions/…/flexibleServers/NAME.
    #[arg(long, value_name = "NAME|ID")]
    pub server: Option<String>,
    /// Subscription id (default: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "ID")]
    pub subscription: Option<String>,
    /// The server's resource group.
    #[arg(long, value_name = "NAME")]
    pub resource_group: Option<String>,
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
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = crate::duration::parse)]
    pub poll_interval: Duration,
    /// Give up waiting for one operation after this long (exit 75; run again to re-attach).
    #[arg(long, value_name = "DURATION", default_value = "3h", value_parser = crate::duration::parse)]
    pub operation_timeout: Duration,
}

/// The arg ids that select the Azure path (for `required_unless_present_any`).
pub const SELECTORS: [&str; 2] = ["azure", "server"];

/// A Flexible Server: subscription, resource group, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    pub subscription: String,
    pub resource_group: String,
    pub name: String,
}

impl ServerRef {
    /// Parse `/subscriptions/S/resourceGroups/G/providers/Microsoft.DBforPostgreSQL/flexibleServers/N`.
    ///
    /// # Errors
    /// 64 when it is not a Flexible Server's ARM id.
    pub fn parse_id(id: &str) -> Result<ServerRef> {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        let ok = parts.len() == 8
            && parts[0].eq_ignore_ascii_case("subscriptions")
            && parts[2].eq_ignore_ascii_case("resourceGroups")
            && parts[4].eq_ignore_ascii_case("providers")
            && parts[5].eq_ignore_ascii_case("Microsoft.DBforPostgreSQL")
            && parts[6].eq_ignore_ascii_case("flexibleServers");
        if !ok {
            return Err(Error::usage(format!(
                "{id:?} is not a Flexible Server id (/subscriptions/…/resourceGroups/…/providers/Microsoft.DBforPostgreSQL/flexibleServers/NAME)"
            )));
        }
        Ok(ServerRef {
            subscription: parts[1].to_owned(),
            resource_group: parts[3].to_owned(),
            name: parts[7].to_owned(),
        })
    }

    /// The server's ARM id.
    pub fn id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.DBforPostgreSQL/flexibleServers/{}",
            self.subscription, self.resource_group, self.name
        )
    }

    /// A path under the server (`""`, `/backups`, ...) with the api-version.
    pub fn path(&self, sub: &str) -> String {
        format!("{}{sub}?api-version={API_VERSION}", self.id())
    }

    /// Another server in the same subscription and resource group.
    pub fn sibling(&self, name: &str) -> ServerRef {
        ServerRef {
            name: name.to_owned(),
            ..self.clone()
        }
    }

    /// The server `name_or_id` names: an ARM id, or a name beside this one.
    ///
    /// # Errors
    /// 64 for a malformed id or name.
    pub fn resolve(&self, name_or_id: &str) -> Result<ServerRef> {
        if name_or_id.starts_with("/subscriptions/") {
            ServerRef::parse_id(name_or_id)
        } else {
            parse_server_name(name_or_id).map_err(Error::usage)?;
            Ok(self.sibling(name_or_id))
        }
    }

    /// Where `location`'s capabilities are (the region's SKUs and features).
    pub fn capabilities_path(&self, location: &str) -> String {
        format!(
            "/subscriptions/{}/providers/Microsoft.DBforPostgreSQL/locations/{location}/capabilities?api-version={API_VERSION}",
            self.subscription
        )
    }
}

impl AzureOpts {
    /// Whether the Azure path is selected: `--azure`, or a `--server`.
    pub fn selected(&self) -> bool {
        self.azure || self.server.is_some()
    }

    /// The server named by the flags.
    ///
    /// # Errors
    /// 64 without --server, or a name without --resource-group; 78 without
    /// a valid subscription id.
    pub fn server_ref(&self) -> Result<ServerRef> {
        let s = self
            .server
            .as_deref()
            .ok_or_else(|| Error::usage("--azure needs --server NAME (with --resource-group) or --server ARM_ID"))?;
        if s.starts_with("/subscriptions/") {
            return ServerRef::parse_id(s);
        }
        let name = parse_server_name(s).map_err(Error::usage)?;
        let rg = self
            .resource_group
            .clone()
            .ok_or_else(|| Error::usage(format!("--server {name} needs --resource-group (or give its ARM id)")))?;
        let sub = self
            .subscription
            .clone()
            .or_else(|| Env::process().get("AZURE_SUBSCRIPTION_ID"))
            .unwrap_or_default();
        if sub.is_empty() || !sub.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(Error::config(format!(
                "no valid subscription id ({sub:?}): pass --subscription or set AZURE_SUBSCRIPTION_ID"
            )));
        }
        Ok(ServerRef {
            subscription: sub,
            resource_group: rg,
            name,
        })
    }

    /// The ARM client, drawing progress of long waits on a terminal.
    ///
    /// # Errors
    /// 78 with incomplete credentials.
    pub fn client(&self) -> Result<ArmClient> {
        let env = Env::process();
        let ep = Endpoints::from_env(&env, self.arm_endpoint.as_deref(), self.token_endpoint.as_deref());
        let mut c = ArmClient::new(ep.clone(), token_source_from_env(&env, &ep, self.auth.method())?);
        c.policy.poll_interval = self.poll_interval;
        c.policy.operation_timeout = self.operation_timeout;
        c.policy.base_delay = self.poll_interval.min(Duration::from_secs(2));
        c.show_progress();
        Ok(c)
    }
}

/// Make the local-only required flags `args` of subcommand `sub` optional
/// when the Azure path is selected (each gets `placeholder` then, which the
/// Azure path never reads). Used from a tool's `Tool::adjust`.
pub fn relax_for_azure(cmd: clap::Command, sub: Option<&str>, args: &[(&'static str, &'static str)]) -> clap::Command {
    let relax = |mut c: clap::Command| {
        for (id, placeholder) in args {
            c = c.mut_arg(*id, |a| {
                a.required(false)
                    .required_unless_present_any(SELECTORS)
                    .default_value_ifs(
                        SELECTORS.map(|s| (s, clap::builder::ArgPredicate::IsPresent, Some(*placeholder))),
                    )
            });
        }
        c
    };
    match sub {
        Some(s) => cmd.mut_subcommand(s, relax),
        None => relax(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_render() {
        let id = "/subscriptions/ffffffff-ffff-ffff-ffff-ffffffffffff/resourceGroups/rg/providers/Microsoft.DBforPostgreSQL/flexibleServers/db1";
        let r = ServerRef::parse_id(id).unwrap();
        assert_eq!(r.name, "db1");
        assert_eq!(r.id(), id);
        assert!(r.path("/backups").ends_with("/db1/backups?api-version=2025-08-01"));
        assert_eq!(r.resolve("db2").unwrap().id(), id.replace("db1", "db2"));
        assert!(ServerRef::parse_id("/subscriptions/x/resourceGroups/rg").is_err());
        let o = AzureOpts {
            server: Some(id.into()),
            ..AzureOpts::default()
        };
        assert!(o.selected());
        assert!(!AzureOpts::default().selected());
    }
}
