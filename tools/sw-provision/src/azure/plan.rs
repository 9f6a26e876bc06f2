//! The writes a converge run plans besides the server itself: firewall
//! rules (ours only; without `--allow-ip` an existing server's rules stay),
//! server parameters (compared in the server's own spelling, checked
//! against its allowed values), the database, and a restart.

use serde_json::{Value, json};
use sw_core::azure::ArmClient;
use sw_core::{Error, Result};

use super::args::ApplyArgs;
use super::body;
use super::firewall::{self, Rule};
use super::record::{Action, Change, Method};
use super::server::{same, text};
use super::target::Target;

/// A write to send.
pub struct Step {
    pub method: Method,
    /// The ARM path, with the api-version.
    pub path: String,
    pub body: Option<Value>,
    pub action: Action,
    /// For people: what the write changes.
    pub detail: String,
}

impl Step {
    /// The change this step makes, as the records list it.
    pub fn change(&self) -> Change {
        Change::new(self.action, self.detail.clone())
    }
}

/// The rules `--allow-ip` and `--allow-azure-services` ask for.
fn wanted_rules(a: &ApplyArgs, warnings: &mut Vec<String>) -> Result<Vec<Rule>> {
    let mut want: Vec<Rule> = Vec::new();
    for spec in &a.allow_ip {
        let (start, end) = if spec == "auto" {
            let ip = firewall::detect_public_ip(&a.my_ip_url)?;
            (ip, ip)
        } else {
            firewall::cidr_range(spec).map_err(Error::usage)?
        };
        let r = firewall::rule_for(start, end);
        if !want.contains(&r) {
            want.push(r);
        }
    }
    if a.allow_azure_services {
        warnings.push(
            "--allow-azure-services admits connections from every Azure tenant's addresses, not only yours".into(),
        );
        let any = std::net::Ipv4Addr::UNSPECIFIED;
        want.push(Rule {
            name: firewall::AZURE_SERVICES.into(),
            start: any,
            end: any,
        });
    }
    Ok(want)
}

/// Plan the firewall rules.
///
/// # Errors
/// 69 when `--allow-ip auto` cannot learn this host's address.
pub fn firewall(
    a: &ApplyArgs,
    c: &ArmClient,
    t: &Target,
    exists: bool,
    steps: &mut Vec<Step>,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let want = wanted_rules(a, warnings)?;
    if want.is_empty() {
        if exists {
            // Nothing asked: the rules stay as they are (a run to change
            // something else must not lock every client out).
            return Ok(());
        }
        warnings.push("no --allow-ip: the firewall admits no client addresses".into());
    }
    let have = if exists {
        c.list(&t.path("/firewallRules"))?
    } else {
        Vec::new()
    };
    let (create, delete) = firewall::diff(&want, &have);
    for r in create {
        steps.push(Step {
            method: Method::Put,
            path: t.path(&format!("/firewallRules/{}", r.name)),
            body: Some(body::firewall_rule(&r)),
            action: Action::AllowIp,
            detail: format!("{}-{}", r.start, r.end),
        });
    }
    for name in delete {
        steps.push(Step {
            method: Method::Delete,
            path: t.path(&format!("/firewallRules/{name}")),
            body: None,
            action: Action::RemoveFirewallRule,
            detail: name,
        });
    }
    Ok(())
}

/// What one parameter needs, from its current configuration resource:
/// (whether to write it, whether a restart is needed). A parameter that
/// already has the value is not written; it needs a restart when it still
/// waits for one. One that is written needs a restart when it is static.
fn parameter_change(cur: &Value, k: &str, v: &str) -> Result<(bool, bool)> {
    let pending = cur.pointer("/properties/isConfigPendingRestart") == Some(&json!(true));
    let allowed = text(cur, "/properties/allowedValues");
    // Enumerations and booleans come back in the server's spelling
    // (`ON` is stored as `on`): compare those without case.
    let enumerated = allowed.contains(',')
        || ["boolean", "enumeration"]
            .iter()
            .any(|t| same(text(cur, "/properties/dataType"), t));
    let have = text(cur, "/properties/value");
    if have == v || (enumerated && same(have, v)) {
        return Ok((false, pending));
    }
    if allowed.contains(',') && !allowed.split(',').any(|x| same(x.trim(), v)) {
        return Err(Error::data(format!("{k}={v}: allowed values are {allowed}")));
    }
    let static_param = cur.pointer("/properties/isDynamicConfig") == Some(&json!(false));
    Ok((true, static_param))
}

/// Plan parameter changes; true when one already known needs a restart.
///
/// # Errors
/// 65 for a parameter the server does not have or a value it does not allow.
pub fn params(a: &ApplyArgs, c: &ArmClient, t: &Target, exists: bool, steps: &mut Vec<Step>) -> Result<bool> {
    let mut restart = false;
    for (k, v) in &a.all_params() {
        let path = t.path(&format!("/configurations/{k}"));
        if exists {
            let cur = c
                .get_opt(&path)?
                .ok_or_else(|| Error::data(format!("server parameter {k:?} does not exist")))?;
            let (write, needs_restart) = parameter_change(&cur, k, v)?;
            restart |= needs_restart;
            if !write {
                continue;
            }
        }
        steps.push(Step {
            method: Method::Patch,
            path,
            body: Some(body::parameter(v)),
            action: Action::SetParameter,
            detail: format!("{k}={v}"),
        });
    }
    Ok(restart)
}

/// Plan the database when the server is new or lacks it.
pub fn database(c: &ArmClient, t: &Target, exists: bool, name: &str, steps: &mut Vec<Step>) -> Result<()> {
    let path = t.path(&format!("/databases/{name}"));
    if !exists || c.get_opt(&path)?.is_none() {
        steps.push(Step {
            method: Method::Put,
            path,
            body: Some(body::database()),
            action: Action::CreateDatabase,
            detail: name.to_owned(),
        });
    }
    Ok(())
}

/// The restart for parameters that need one.
pub fn restart(t: &Target) -> Step {
    Step {
        method: Method::Post,
        path: t.path("/restart"),
        body: None,
        action: Action::Restart,
        detail: "for parameters that need a restart".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_compare_in_the_servers_spelling() {
        let cur = json!({"properties": {"value": "on", "allowedValues": "on,off,partition", "isDynamicConfig": true}});
        assert_eq!(
            parameter_change(&cur, "constraint_exclusion", "ON").unwrap(),
            (false, false)
        );
        assert_eq!(
            parameter_change(&cur, "constraint_exclusion", "off").unwrap(),
            (true, false)
        );
        assert!(parameter_change(&cur, "constraint_exclusion", "maybe").is_err());
        let stat = json!({"properties": {"value": "128MB", "isDynamicConfig": false}});
        assert_eq!(parameter_change(&stat, "shared_buffers", "1GB").unwrap(), (true, true));
    }
}
