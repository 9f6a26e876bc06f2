//! Microsoft Entra ID authentication: `properties.authConfig` (Entra,
//! password, or both) and the Entra administrator, a server's
//! `administrators/{objectId}` resource (PUT
//! `{"properties": {"principalType", "principalName", "tenantId"}}`, as the
//! official `AdministratorsMicrosoftEntraAdd.json` example sends).
//!
//! With Entra only, the server has no password administrator (none is
//! sent at create) and clients sign in with tokens: `--azure-auth` on
//! every sw tool (`sw_core::pg::entra`).

use clap::{Args, ValueEnum};
use serde_json::{Map, Value, json};
use sw_core::config::Env;
use sw_core::{Error, Result};

use super::server::{same, text};

/// How clients sign in (ARM `authConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMode {
    /// Microsoft Entra ID tokens only (no password sign-in at all).
    Entra,
    /// Passwords only (Azure's default).
    Password,
    /// Both.
    Both,
}

impl AuthMode {
    /// (`activeDirectoryAuth`, `passwordAuth`).
    fn switches(self) -> (&'static str, &'static str) {
        match self {
            AuthMode::Entra => ("Enabled", "Disabled"),
            AuthMode::Password => ("Disabled", "Enabled"),
            AuthMode::Both => ("Enabled", "Enabled"),
        }
    }

    /// The mode of a server resource (password when it does not say).
    pub fn of(server: &Value) -> AuthMode {
        let on = |k: &str| same(text(server, &format!("/properties/authConfig/{k}")), "Enabled");
        match (
            on("activeDirectoryAuth"),
            text(server, "/properties/authConfig/passwordAuth"),
        ) {
            (true, p) if same(p, "Disabled") => AuthMode::Entra,
            (true, _) => AuthMode::Both,
            _ => AuthMode::Password,
        }
    }

    /// Whether passwords sign in.
    pub fn passwords(self) -> bool {
        self != AuthMode::Entra
    }
}

/// An Entra principal's kind (ARM `principalType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrincipalType {
    User,
    Group,
    #[value(alias = "servicePrincipal")]
    ServicePrincipal,
}

impl PrincipalType {
    fn arm(self) -> &'static str {
        match self {
            PrincipalType::User => "User",
            PrincipalType::Group => "Group",
            PrincipalType::ServicePrincipal => "ServicePrincipal",
        }
    }
}

/// The Entra flags.
#[derive(Args, Debug, Clone)]
pub struct EntraArgs {
    /// How clients sign in: entra (tokens only), password, or both [create default: Azure's, password].
    #[arg(long, value_enum)]
    pub auth_mode: Option<AuthMode>,
    /// The Entra administrator's object id (a user, group or service principal).
    #[arg(long, value_name = "OBJECT_ID", value_parser = parse_guid, requires = "entra_admin_name")]
    pub entra_admin: Option<String>,
    /// The Entra administrator's name (a user's UPN, a group's or service principal's display name):
    /// the user name it signs in with.
    #[arg(long, value_name = "NAME", requires = "entra_admin")]
    pub entra_admin_name: Option<String>,
    /// What the Entra administrator is.
    #[arg(long, value_enum, default_value_t = PrincipalType::User)]
    pub entra_admin_type: PrincipalType,
    /// The Entra tenant (default: AZURE_TENANT_ID).
    #[arg(long, value_name = "ID", value_parser = parse_guid)]
    pub entra_tenant: Option<String>,
}

fn parse_guid(s: &str) -> std::result::Result<String, String> {
    let groups: Vec<&str> = s.split('-').collect();
    let lens = [8, 4, 4, 4, 12];
    let ok = groups.len() == 5
        && groups
            .iter()
            .zip(lens)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()));
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(format!("{s:?} is not an Entra object or tenant id (a GUID)"))
    }
}

impl EntraArgs {
    /// The mode the server is to have: the flag, else the server's, else password.
    pub fn mode(&self, server: Option<&Value>) -> AuthMode {
        self.auth_mode
            .or_else(|| server.map(AuthMode::of))
            .unwrap_or(AuthMode::Password)
    }

    /// Flag combinations that cannot work.
    ///
    /// # Errors
    /// 64 naming the flags.
    pub fn check(&self, server: Option<&Value>) -> Result<()> {
        let mode = self.mode(server);
        if self.entra_admin.is_some() && mode == AuthMode::Password {
            return Err(Error::usage(
                "--entra-admin needs Entra ID sign-in: --auth-mode entra or both",
            ));
        }
        if server.is_none() && mode == AuthMode::Entra && self.entra_admin.is_none() {
            return Err(Error::usage(
                "--auth-mode entra without --entra-admin would make a server nobody can sign in to",
            ));
        }
        Ok(())
    }

    /// The tenant: --entra-tenant, else AZURE_TENANT_ID.
    ///
    /// # Errors
    /// 78 when neither is set.
    pub fn tenant(&self) -> Result<String> {
        self.entra_tenant
            .clone()
            .or_else(|| Env::process().get("AZURE_TENANT_ID"))
            .ok_or_else(|| {
                Error::config("Entra ID sign-in needs the tenant: pass --entra-tenant or set AZURE_TENANT_ID")
            })
    }

    /// `authConfig` for `mode`.
    fn auth_config(mode: AuthMode, tenant: &str) -> Value {
        let (ad, pw) = mode.switches();
        let mut c = json!({"activeDirectoryAuth": ad, "passwordAuth": pw});
        if mode != AuthMode::Password {
            c["tenantId"] = json!(tenant);
        }
        c
    }

    /// `authConfig` of a create (only when a mode is asked for).
    ///
    /// # Errors
    /// 78 without a tenant for Entra sign-in.
    pub fn create(&self) -> Result<Option<Value>> {
        match self.auth_mode {
            None => Ok(None),
            Some(AuthMode::Password) => Ok(Some(Self::auth_config(AuthMode::Password, ""))),
            Some(m) => Ok(Some(Self::auth_config(m, &self.tenant()?))),
        }
    }

    /// `authConfig` of a PATCH, when the asked mode differs from the server's.
    ///
    /// # Errors
    /// 78 without a tenant for Entra sign-in.
    pub fn update(&self, server: &Value) -> Result<Option<Value>> {
        let Some(m) = self.auth_mode else { return Ok(None) };
        let (ad, pw) = m.switches();
        let have = |k: &str| text(server, &format!("/properties/authConfig/{k}"));
        if same(have("activeDirectoryAuth"), ad) && same(have("passwordAuth"), pw) {
            return Ok(None);
        }
        let tenant = if m == AuthMode::Password {
            String::new()
        } else {
            self.tenant()?
        };
        Ok(Some(Self::auth_config(m, &tenant)))
    }

    /// The administrators path segment and body, when the flags name an
    /// Entra administrator that `current` (its resource, if any) is not.
    ///
    /// # Errors
    /// 78 without a tenant.
    pub fn admin(&self, current: Option<&Value>) -> Result<Option<(String, Value)>> {
        let (Some(oid), Some(name)) = (&self.entra_admin, &self.entra_admin_name) else {
            return Ok(None);
        };
        let kind = self.entra_admin_type.arm();
        if let Some(cur) = current
            && text(cur, "/properties/principalName") == name
            && same(text(cur, "/properties/principalType"), kind)
        {
            return Ok(None);
        }
        let mut props = Map::new();
        props.insert("tenantId".into(), json!(self.tenant()?));
        props.insert("principalType".into(), json!(kind));
        props.insert("principalName".into(), json!(name));
        Ok(Some((format!("/administrators/{oid}"), json!({"properties": props}))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_back_from_auth_config() {
        let s =
            |ad: &str, pw: &str| json!({"properties": {"authConfig": {"activeDirectoryAuth": ad, "passwordAuth": pw}}});
        assert_eq!(AuthMode::of(&s("Enabled", "Disabled")), AuthMode::Entra);
        assert_eq!(AuthMode::of(&s("Enabled", "Enabled")), AuthMode::Both);
        assert_eq!(AuthMode::of(&s("Disabled", "Enabled")), AuthMode::Password);
        assert_eq!(AuthMode::of(&json!({})), AuthMode::Password);
        assert!(parse_guid("00000000-0000-0000-0000-00000000000A").is_ok());
        assert!(parse_guid("oooooooo-oooo-oooo-oooo-oooooooooooo").is_err());
        let c = EntraArgs::auth_config(AuthMode::Both, "t");
        assert_eq!(
            c,
            json!({"activeDirectoryAuth": "Enabled", "passwordAuth": "Enabled", "tenantId": "t"})
        );
    }
}
