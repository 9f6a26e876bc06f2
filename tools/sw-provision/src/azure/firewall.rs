//! Firewall rules: IPv4 ranges (Azure takes no IPv6 here) from `--allow-ip`
//! CIDRs, `auto` (this host's public address from a configurable URL), and
//! the optional "allow Azure services" rule (0.0.0.0-0.0.0.0), which admits
//! every Azure tenant's addresses, not just yours.
//!
//! Only rules named `sw-*` (ours) are ever deleted; rules someone added by
//! hand are left alone.

use std::net::Ipv4Addr;

use serde_json::Value;
use sw_core::{Error, Result};

/// Our rule-name prefix.
pub const PREFIX: &str = "sw-";
/// The conventional name of the allow-Azure-services rule.
pub const AZURE_SERVICES: &str = "sw-AllowAllAzureServicesAndResourcesWithinAzureIps";

/// A desired rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub start: Ipv4Addr,
    pub end: Ipv4Addr,
}

/// `a.b.c.d/n` or a bare address -> the range it covers.
pub fn cidr_range(s: &str) -> std::result::Result<(Ipv4Addr, Ipv4Addr), String> {
    let (addr, len) = s.split_once('/').map_or((s, "32"), |(a, l)| (a, l));
    let ip: Ipv4Addr = addr
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not an IPv4 address or CIDR (Azure firewall rules are IPv4 only)"))?;
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= 32)
        .ok_or_else(|| format!("invalid prefix length in {s:?}"))?;
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    let start = u32::from(ip) & mask;
    Ok((Ipv4Addr::from(start), Ipv4Addr::from(start | !mask)))
}

/// A rule for a range, named after it.
pub fn rule_for(start: Ipv4Addr, end: Ipv4Addr) -> Rule {
    let dash = |ip: Ipv4Addr| ip.to_string().replace('.', "_");
    Rule {
        name: format!("{PREFIX}{}-{}", dash(start), dash(end)),
        start,
        end,
    }
}

/// This host's public IPv4 address, from `url` (a plain-text echo service).
///
/// # Errors
/// 69 naming the URL when offline or the answer is not an address.
pub fn detect_public_ip(url: &str) -> Result<Ipv4Addr> {
    let agent = sw_core::azure::agent();
    let hint = "pass --allow-ip CIDR instead of auto, or point --my-ip-url at a reachable echo service";
    let r = sw_core::azure::send(&agent, "GET", url, &[("Accept", "text/plain")], None)
        .map_err(|e| Error::unavailable(format!("detecting this host's public IP from {url}: {e}; {hint}")))?;
    let text = match &r.body {
        Value::String(s) => s.trim().to_owned(),
        _ => r.body.get("ip").and_then(Value::as_str).unwrap_or("").to_owned(),
    };
    if !(200..300).contains(&r.status) {
        return Err(Error::unavailable(format!(
            "detecting this host's public IP from {url}: HTTP {}; {hint}",
            r.status
        )));
    }
    text.parse()
        .map_err(|_| Error::unavailable(format!("{url} answered {text:?}, not an IPv4 address; {hint}")))
}

/// Rules to create (missing or different) and our rules to delete.
pub fn diff(want: &[Rule], have: &[Value]) -> (Vec<Rule>, Vec<String>) {
    let get = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    let existing: Vec<(String, Option<String>, Option<String>)> = have
        .iter()
        .filter_map(|r| {
            Some((
                get(r, "/name")?,
                get(r, "/properties/startIpAddress"),
                get(r, "/properties/endIpAddress"),
            ))
        })
        .collect();
    let create = want
        .iter()
        .filter(|w| {
            !existing.iter().any(|(n, s, e)| {
                n == &w.name && s.as_deref() == Some(&w.start.to_string()) && e.as_deref() == Some(&w.end.to_string())
            })
        })
        .cloned()
        .collect();
    let delete = existing
        .iter()
        .filter(|(n, _, _)| n.starts_with(PREFIX) && !want.iter().any(|w| &w.name == n))
        .map(|(n, _, _)| n.clone())
        .collect();
    (create, delete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cidrs_become_ranges() {
        assert_eq!(
            cidr_range("203.0.113.7/24").unwrap(),
            ("203.0.113.0".parse().unwrap(), "203.0.113.255".parse().unwrap())
        );
        assert_eq!(
            cidr_range("198.51.100.1").unwrap().1,
            "198.51.100.1".parse::<Ipv4Addr>().unwrap()
        );
        assert!(cidr_range("2001:db8::/32").is_err());
        assert!(cidr_range("1.2.3.4/33").is_err());
        assert_eq!(
            rule_for("10.0.0.0".parse().unwrap(), "10.255.255.255".parse().unwrap()).name,
            "sw-10_0_0_0-10_255_255_255"
        );
    }

    #[test]
    fn only_our_rules_are_deleted() {
        let want = vec![rule_for("1.2.3.4".parse().unwrap(), "1.2.3.4".parse().unwrap())];
        let have = vec![
            json!({"name": "sw-1_2_3_4-1_2_3_4", "properties": {"startIpAddress": "1.2.3.4", "endIpAddress": "1.2.3.4"}}),
            json!({"name": "sw-9_9_9_9-9_9_9_9", "properties": {"startIpAddress": "9.9.9.9", "endIpAddress": "9.9.9.9"}}),
            json!({"name": "office", "properties": {"startIpAddress": "5.5.5.5", "endIpAddress": "5.5.5.5"}}),
        ];
        let (c, d) = diff(&want, &have);
        assert!(c.is_empty());
        assert_eq!(d, ["sw-9_9_9_9-9_9_9_9"]);
    }
}
