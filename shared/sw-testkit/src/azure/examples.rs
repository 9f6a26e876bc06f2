//! Comparing what a tool sent with the official example requests.

use std::collections::BTreeSet;

use serde_json::Value;

/// The request body of the example in `azure-arm/postgresql/{file}`.
pub fn example_request(file: &str) -> Value {
    let v: Value =
        serde_json::from_slice(&std::fs::read(crate::fixture(&format!("azure-arm/postgresql/{file}"))).unwrap())
            .unwrap();
    v["parameters"]["parameters"].clone()
}

/// Leaf paths of a JSON document (`properties.storage.tier`, ...); map keys
/// that are ARM ids (userAssignedIdentities) are data, written `<id>`.
pub fn leaf_paths(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match v.as_object() {
            Some(o) if !o.is_empty() => {
                for (k, x) in o {
                    if k.starts_with('/') {
                        out.insert(format!("{prefix}.<id>"));
                        continue;
                    }
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(x, &p, out);
                }
            }
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, "", &mut out);
    out
}
