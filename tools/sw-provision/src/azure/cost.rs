//! A rough monthly cost estimate for `--dry-run`, so nobody creates a
//! zone-redundant 64-vCore server by accident. It is a built-in table, not
//! a price lookup (no network needed, output stable): the record carries
//! the basis and the date of the table, and the pricing page to check.

use schemars::JsonSchema;
use serde::Serialize;

/// When the table below was compiled.
pub const PRICES_AS_OF: &str = "2025-06-01";
const HOURS_PER_MONTH: f64 = 730.0;

/// A rough monthly cost: the sum, its parts and what it rests on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Estimate {
    /// The whole month, in US dollars.
    pub monthly_usd: f64,
    /// Compute (vCore-hours, times two with an HA standby).
    pub compute_usd: f64,
    /// Provisioned storage (times two with an HA standby).
    pub storage_usd: f64,
    /// The geo-redundant backup copy (0 without one).
    pub backup_usd: f64,
    /// The prices and quantities the estimate multiplies, and what it leaves out.
    pub basis: String,
    /// The calendar date (YYYY-MM-DD) of the built-in price table.
    pub prices_as_of: &'static str,
    /// The pricing page to check against.
    pub check: &'static str,
}

/// USD per vCore-hour, pay-as-you-go list price, East US (approximate).
fn vcore_hour(tier: &str) -> f64 {
    match tier.to_ascii_lowercase().as_str() {
        "burstable" => 0.0207,
        "memoryoptimized" => 0.1250,
        _ => 0.0890,
    }
}

/// vCores from the SKU name when capabilities did not say
/// (`Standard_D4ds_v5` -> 4, `Standard_B1ms` -> 1).
pub fn vcores_from_sku(sku: &str) -> u32 {
    let rest = sku.strip_prefix("Standard_").unwrap_or(sku);
    let digits: String = rest.chars().skip(1).take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(2)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Estimate a month of this server.
pub fn estimate(tier: &str, vcores: u32, storage_gb: u32, ha: bool, geo_backup: bool) -> Estimate {
    let copies = if ha { 2.0 } else { 1.0 };
    let compute = vcore_hour(tier) * f64::from(vcores) * HOURS_PER_MONTH * copies;
    let storage = 0.115 * f64::from(storage_gb) * copies;
    // Backup storage up to the provisioned size is free (LRS); the
    // geo-redundant copy is billed, assumed here at the provisioned size.
    let backup = if geo_backup { 0.20 * f64::from(storage_gb) } else { 0.0 };
    Estimate {
        monthly_usd: round2(compute + storage + backup),
        compute_usd: round2(compute),
        storage_usd: round2(storage),
        backup_usd: round2(backup),
        basis: format!(
            "approximate pay-as-you-go list prices, East US, USD: {tier} ${:.4}/vCore-hour x {vcores} vCores x {HOURS_PER_MONTH} h{}; Premium SSD $0.115/GB-month x {storage_gb} GB{}; {}; excludes extra backup beyond the provisioned size, I/O, egress, taxes and discounts",
            vcore_hour(tier),
            if ha { " x 2 (HA standby)" } else { "" },
            if ha { " x 2" } else { "" },
            if geo_backup {
                format!("geo-redundant backup copy $0.20/GB-month x {storage_gb} GB")
            } else {
                "locally redundant backup within the free allowance".to_owned()
            }
        ),
        prices_as_of: PRICES_AS_OF,
        check: "https://azure.microsoft.com/pricing/details/postgresql/flexible-server/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_are_stable_and_explained() {
        assert_eq!(vcores_from_sku("Standard_D4ds_v5"), 4);
        assert_eq!(vcores_from_sku("Standard_B1ms"), 1);
        assert_eq!(vcores_from_sku("Standard_E64ds_v5"), 64);
        let e = estimate("GeneralPurpose", 4, 128, true, true);
        assert!((e.compute_usd - 519.76).abs() < 0.01, "{e:?}");
        assert!((e.monthly_usd - (519.76 + 29.44 + 25.6)).abs() < 0.02, "{e:?}");
        assert!(e.basis.contains("HA standby"));
    }
}
