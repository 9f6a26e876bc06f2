//! `sw-health --azure`: an Azure Database for PostgreSQL Flexible Server
//! through the Resource Manager API.

#![allow(dead_code, reason = "the --azure target that uses it comes next")]

pub mod metrics;
