//! Data encryption with a customer-managed key (Azure Key Vault): the
//! key's URI and the user-assigned managed identity the server reads it
//! with, plus a second pair for the geo-redundant backup copy (a vault in
//! the paired region), in the shapes of the official example
//! (`ServersCreateGeoRestoreWithDataEncryptionEnabled.json`: `identity`
//! and `properties.dataEncryption`).
//!
//! Azure chooses the encryption type at create time. On a server that
//! already uses a customer-managed key, a different key URI (a new key
//! version, say) is a key rotation: one PATCH with the whole
//! `dataEncryption` object. A URI without a version lets the server follow
//! the key's newest version by itself.
//!
//! Checked first: key URIs are well formed (at parse time), and every
//! identity named exists (read before anything is written).

use clap::Args;
use serde_json::{Map, Value, json};
use sw_core::azure::ArmClient;
use sw_core::{Error, Result};

use super::server::{same, text};

/// api-version of `Microsoft.ManagedIdentity/userAssignedIdentities` reads.
const IDENTITY_API: &str = "2023-01-31";

/// Key Vault (and Managed HSM) host suffixes in the Azure clouds.
const VAULT_HOSTS: &[&str] = &[
    ".vault.azure.net",
    ".vault.azure.cn",
    ".vault.usgovcloudapi.net",
    ".vault.microsoftazure.de",
    ".managedhsm.azure.net",
    ".managedhsm.azure.cn",
    ".managedhsm.usgovcloudapi.net",
];

/// The customer-managed key flags.
#[derive(Args, Debug, Clone)]
pub struct CmkArgs {
    /// Encrypt with a customer-managed key: https://VAULT.vault.azure.net/keys/NAME[/VERSION] (the type is
    /// chosen at create; a new URI later is a key rotation; without VERSION the server follows the newest).
    #[arg(long, value_name = "URI", value_parser = parse_key_uri, requires = "cmk_identity")]
    pub cmk_key_uri: Option<String>,
    /// The user-assigned managed identity (ARM id) the server reads --cmk-key-uri with.
    #[arg(long, value_name = "RESOURCE_ID", value_parser = parse_identity_id, requires = "cmk_key_uri")]
    pub cmk_identity: Option<String>,
    /// The key of the geo-redundant backup copy (a vault in the paired region); needed with geo-redundant backup.
    #[arg(long, value_name = "URI", value_parser = parse_key_uri, requires_all = ["cmk_geo_identity", "cmk_key_uri"])]
    pub cmk_geo_key_uri: Option<String>,
    /// The user-assigned managed identity (ARM id) the server reads --cmk-geo-key-uri with.
    #[arg(long, value_name = "RESOURCE_ID", value_parser = parse_identity_id, requires = "cmk_geo_key_uri")]
    pub cmk_geo_identity: Option<String>,
}

/// `https://VAULT.vault.azure.net/keys/NAME[/VERSION]`.
fn parse_key_uri(s: &str) -> std::result::Result<String, String> {
    let bad = || {
        format!(
            "{s:?} is not a Key Vault key URI (https://VAULT.vault.azure.net/keys/NAME or .../keys/NAME/VERSION, VERSION 32 letters and digits)"
        )
    };
    let rest = s.strip_prefix("https://").ok_or_else(bad)?;
    let (host, path) = rest.split_once('/').ok_or_else(bad)?;
    let host = host.to_ascii_lowercase();
    let vault_ok = VAULT_HOSTS.iter().any(|h| {
        host.strip_suffix(h)
            .is_some_and(|v| (3..=24).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    });
    let parts: Vec<&str> = path.split('/').collect();
    let name_ok = |n: &str| (1..=127).contains(&n.len()) && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let shape_ok = match parts.as_slice() {
        ["keys", name] => name_ok(name),
        ["keys", name, version] => {
            name_ok(name) && version.len() == 32 && version.chars().all(|c| c.is_ascii_alphanumeric())
        }
        _ => false,
    };
    if vault_ok && shape_ok {
        Ok(s.to_owned())
    } else {
        Err(bad())
    }
}

/// A user-assigned managed identity's ARM id.
fn parse_identity_id(s: &str) -> std::result::Result<String, String> {
    let p: Vec<&str> = s.split('/').collect();
    let ok = p.len() == 9
        && p[0].is_empty()
        && same(p[1], "subscriptions")
        && same(p[3], "resourceGroups")
        && same(p[5], "providers")
        && same(p[6], "Microsoft.ManagedIdentity")
        && same(p[7], "userAssignedIdentities")
        && [2, 4, 8].iter().all(|i| !p[*i].is_empty());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a user-assigned identity's ARM id (/subscriptions/ID/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME)"
        ))
    }
}

impl CmkArgs {
    /// Whether a customer-managed key is asked for.
    pub fn asked(&self) -> bool {
        self.cmk_key_uri.is_some()
    }

    /// A create with geo-redundant backup needs the geo pair too.
    ///
    /// # Errors
    /// 64 naming the missing flags.
    pub fn check_create(&self, geo_backup: bool) -> Result<()> {
        if self.asked() && geo_backup && self.cmk_geo_key_uri.is_none() {
            return Err(Error::usage(
                "a customer-managed key with geo-redundant backup needs --cmk-geo-key-uri and --cmk-geo-identity (a key in the paired region), or --geo-redundant-backup disabled",
            ));
        }
        Ok(())
    }

    /// The identities named.
    fn identities(&self) -> Vec<&str> {
        [&self.cmk_identity, &self.cmk_geo_identity]
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Read every identity named; they must exist.
    ///
    /// # Errors
    /// 65 naming one that does not.
    pub fn preflight(&self, c: &ArmClient) -> Result<()> {
        for id in self.identities() {
            if c.get_opt(&format!("{id}?api-version={IDENTITY_API}"))?.is_none() {
                return Err(Error::data(format!(
                    "the managed identity {id} does not exist (--cmk-identity/--cmk-geo-identity name a user-assigned identity with access to the key)"
                )));
            }
        }
        Ok(())
    }

    /// The `identity` object of a create, with the identities named.
    fn identity(&self, keep: &[String]) -> Value {
        let mut ids: Map<String, Value> = keep.iter().map(|k| (k.clone(), json!({}))).collect();
        for id in self.identities() {
            if !ids.keys().any(|k| same(k, id)) {
                ids.insert(id.to_owned(), json!({}));
            }
        }
        json!({"type": "UserAssigned", "userAssignedIdentities": ids})
    }

    /// `dataEncryption` with the flags' key pairs, the server's geo pair
    /// where the flags leave it out.
    fn data_encryption(&self, server: Option<&Value>) -> Value {
        let have = |k: &str| {
            server
                .map(|s| text(s, &format!("/properties/dataEncryption/{k}")))
                .filter(|v| !v.is_empty())
        };
        let mut de = json!({"type": "AzureKeyVault"});
        let pairs = [
            ("primaryKeyURI", self.cmk_key_uri.as_deref()),
            ("primaryUserAssignedIdentityId", self.cmk_identity.as_deref()),
            ("geoBackupKeyURI", self.cmk_geo_key_uri.as_deref()),
            ("geoBackupUserAssignedIdentityId", self.cmk_geo_identity.as_deref()),
        ];
        for (k, v) in pairs {
            if let Some(v) = v.or_else(|| have(k)) {
                de[k] = json!(v);
            }
        }
        de
    }

    /// `(identity, dataEncryption)` of a create, when a key is asked for.
    pub fn create(&self) -> Option<(Value, Value)> {
        self.asked().then(|| (self.identity(&[]), self.data_encryption(None)))
    }

    /// The PATCH fields that bring an existing server to the flags' keys
    /// (`identity` only when an identity is missing from the server).
    ///
    /// # Errors
    /// 65 when the server is not encrypted with a customer-managed key
    /// (chosen at create time).
    pub fn update(&self, server: &Value) -> Result<Option<(Option<Value>, Value)>> {
        if !self.asked() {
            return Ok(None);
        }
        if !same(text(server, "/properties/dataEncryption/type"), "AzureKeyVault") {
            return Err(Error::data(
                "the server's data is encrypted with service-managed keys, and Azure chooses that at create time: restore it into a new server with --cmk-key-uri (a point-in-time restore) and move the application to it",
            ));
        }
        let want = self.data_encryption(Some(server));
        let differs = want
            .as_object()
            .into_iter()
            .flatten()
            .any(|(k, v)| v.as_str() != Some(text(server, &format!("/properties/dataEncryption/{k}"))));
        if !differs {
            return Ok(None);
        }
        let have: Vec<String> = server
            .pointer("/identity/userAssignedIdentities")
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        let missing = self.identities().iter().any(|id| !have.iter().any(|h| same(h, id)));
        Ok(Some((missing.then(|| self.identity(&have)), want)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_uris_are_well_formed() {
        let v = "0123456789abcdef0123456789abcdef";
        assert!(parse_key_uri(&format!("https://kv-prod.vault.azure.net/keys/pg/{v}")).is_ok());
        assert!(parse_key_uri("https://kv-prod.vault.azure.net/keys/pg").is_ok());
        for bad in [
            "http://kv.vault.azure.net/keys/pg",
            "https://kv.example.com/keys/pg",
            "https://kv.vault.azure.net/secrets/pg",
            "https://kv.vault.azure.net/keys/pg/short",
            "https://kv.vault.azure.net/keys/pg/",
        ] {
            assert!(parse_key_uri(bad).is_err(), "{bad}");
        }
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pg";
        assert!(parse_identity_id(id).is_ok());
        assert!(parse_identity_id("/subscriptions/s/resourceGroups/g").is_err());
    }
}
