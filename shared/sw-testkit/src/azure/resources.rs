//! Resources in memory: GET (single and paged lists), PUT/PATCH/DELETE,
//! replicas, promotion and the recovery actions.

use super::*;

fn is_collection(path: &str) -> bool {
    [
        "/firewallrules",
        "/databases",
        "/configurations",
        "/replicas",
        "/backups",
        "/ltrbackupoperations",
        "/providers/microsoft.insights/metricalerts",
    ]
    .iter()
    .any(|c| path.ends_with(c))
}

pub(super) fn get(s: &mut State, req: &Request, path: &str, base: &str) -> Reply {
    // Observing a resource lets time pass for the operation changing it.
    let pending: Vec<String> = s
        .ops
        .iter()
        .filter(|(_, o)| !o.done && o.resource.as_deref() == Some(path))
        .map(|(k, _)| k.clone())
        .collect();
    for id in pending {
        advance(s, &id);
    }
    if let Some(v) = s.resources.get(path) {
        return Reply::json(200, v.clone());
    }
    if is_collection(path) {
        let prefix = format!("{path}/");
        let mut items: Vec<Value> = s
            .resources
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix) && !k[prefix.len()..].contains('/'))
            .map(|(_, v)| v.clone())
            .collect();
        if items.is_empty() && path.ends_with("/replicas") {
            items = replicas_of(s, path.trim_end_matches("/replicas"));
        }
        let skip: usize = query_param(&req.target, "$skiptoken")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let page: Vec<Value> = items.iter().skip(skip).take(s.page_size).cloned().collect();
        let mut body = json!({"value": page});
        if skip + s.page_size < items.len() {
            // As in the fixture: another api-version, a $skiptoken and a double slash.
            let target = req.target.split('?').next().unwrap_or("");
            let doubled = target.replacen("/resourceGroups/", "//resourceGroups/", 1);
            body["nextLink"] = json!(format!(
                "{base}{doubled}?api-version={MONITOR_API_VERSION}&$skiptoken={}",
                skip + s.page_size
            ));
        }
        return Reply::json(200, body);
    }
    if let Some(name) = path.rsplit_once("/configurations/").map(|(_, n)| n.to_owned()) {
        return Reply::json(200, default_config(&name));
    }
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource '{}' was not found.",
            req.target.split('?').next().unwrap_or("")
        ),
    )
}

/// Every server parameter exists; a few need a restart.
fn default_config(name: &str) -> Value {
    let static_ = [
        "shared_buffers",
        "max_connections",
        "shared_preload_libraries",
        "max_worker_processes",
    ];
    json!({"name": name, "properties": {"value": "", "defaultValue": "", "dataType": "String",
        "allowedValues": "", "source": "system-default", "isDynamicConfig": !static_.contains(&name),
        "isConfigPendingRestart": false, "isReadOnly": false}})
}

pub(super) fn write(s: &mut State, req: &Request, path: &str, base: &str) -> Reply {
    let exists = s.resources.contains_key(path);
    if req.method == "PATCH" && !exists && !path.contains("/configurations/") {
        return arm_error(404, "ResourceNotFound", "PATCH of a resource that does not exist");
    }
    let mut body = req.body.clone();
    if let Some(p) = body.get_mut("properties").and_then(Value::as_object_mut) {
        // Secrets and create-time switches are never echoed back.
        p.remove("administratorLoginPassword");
        p.remove("createMode");
    }
    let original = req.target.split('?').next().unwrap_or("").to_owned();
    let name = original.rsplit('/').next().unwrap_or("").to_owned();
    let is_server =
        path.contains("/flexibleservers/") && !path.split("/flexibleservers/").nth(1).unwrap_or("").contains('/');
    let entry = s.resources.entry(path.to_owned()).or_insert_with(|| {
        let mut base_v = if is_server {
            fixture_json("azure-arm/postgresql/ServersGet.json")["responses"]["200"]["body"].clone()
        } else if path.contains("/configurations/") {
            default_config(&name)
        } else {
            json!({})
        };
        base_v["id"] = json!(original);
        base_v["name"] = json!(name);
        if is_server {
            if let Some(p) = base_v.get_mut("properties").and_then(Value::as_object_mut) {
                p.remove("availabilityZone");
            }
            base_v["properties"]["fullyQualifiedDomainName"] = json!(format!("{name}.postgres.database.azure.com"));
            base_v["properties"]["highAvailability"] = json!({"mode": "Disabled", "state": "NotEnabled"});
            base_v["tags"] = json!({});
        }
        base_v
    });
    merge(entry, &body);
    if is_server {
        if req.body.pointer("/properties/createMode") == Some(&json!("Replica")) {
            entry["properties"]["replica"] = json!({"role": "AsyncReplica", "capacity": 0});
            entry["properties"]["replicationRole"] = json!("AsyncReplica");
        }
        entry["properties"]["state"] = json!(if exists { "Updating" } else { "Provisioning" });
        let ha_mode = entry
            .pointer("/properties/highAvailability/mode")
            .and_then(Value::as_str)
            .unwrap_or("Disabled");
        if ha_mode != "Disabled" {
            entry["properties"]["highAvailability"]["state"] = json!("Healthy");
        }
    }
    let then = promotion(s, req, path);
    start_op(s, Some(path.to_owned()), false, base, then)
}

/// The servers whose `sourceServerResourceId` names `server` (a path).
fn replicas_of(s: &State, server: &str) -> Vec<Value> {
    s.resources
        .iter()
        .filter(|(k, v)| {
            k.contains("/flexibleservers/")
                && !k.split("/flexibleservers/").nth(1).unwrap_or("").contains('/')
                && v.pointer("/properties/sourceServerResourceId")
                    .and_then(Value::as_str)
                    .is_some_and(|id| norm(id) == server)
                && v.pointer("/properties/replica/role")
                    .and_then(Value::as_str)
                    .is_some_and(|r| r.to_ascii_lowercase().contains("replica"))
        })
        .map(|(_, v)| v.clone())
        .collect()
}

/// A PATCH promoting a replica: once it succeeds the replica is a Primary
/// (and after a switchover its old primary a replica).
fn promotion(s: &State, req: &Request, path: &str) -> Vec<(String, Value)> {
    let Some(mode) = req
        .body
        .pointer("/properties/replica/promoteMode")
        .and_then(Value::as_str)
    else {
        return Vec::new();
    };
    let mut then = vec![(
        path.to_owned(),
        json!({"properties": {"replicationRole": "Primary", "replica": {"role": "Primary", "replicationState": null}}}),
    )];
    let source = s
        .resources
        .get(path)
        .and_then(|v| v.pointer("/properties/sourceServerResourceId"))
        .and_then(Value::as_str)
        .map(norm);
    if mode.eq_ignore_ascii_case("switchover")
        && let Some(src) = source
    {
        then.push((
            src,
            json!({"properties": {"replicationRole": "AsyncReplica", "replica": {"role": "AsyncReplica"}}}),
        ));
    } else {
        then[0].1["properties"]["sourceServerResourceId"] = Value::Null;
    }
    then
}

/// Backups and recovery requests: on-demand backups, long-term retention,
/// restart with failover; None for everything else.
pub(super) fn recovery(s: &mut State, req: &Request, path: &str, base: &str) -> Option<Reply> {
    let (server, rest) = path
        .split_once("/flexibleservers/")
        .map(|(a, b)| match b.split_once('/') {
            Some((n, r)) => (format!("{a}/flexibleservers/{n}"), format!("/{r}")),
            None => (format!("{a}/flexibleservers/{b}"), String::new()),
        })?;
    match (req.method.as_str(), rest.as_str()) {
        ("PUT", r) if r.starts_with("/backups/") && !r[9..].contains('/') => {
            let original = req.target.split('?').next().unwrap_or("");
            let name = original.rsplit('/').next().unwrap_or("").to_owned();
            s.resources.insert(path.to_owned(), json!({
                "id": original, "name": name, "type": "Microsoft.DBforPostgreSQL/flexibleServers/backups",
                "properties": {"backupType": "Customer On-Demand", "source": "Customer Initiated", "completedTime": null}}));
            let done = json!({"properties": {"completedTime": chrono_now()}});
            Some(start_op(s, Some(path.to_owned()), false, base, vec![(path.to_owned(), done)]))
        }
        ("POST", "/ltrprebackup") => Some(Reply::json(
            200,
            fixture_json("azure-arm/postgresql/BackupsLongTermRetentionCheckPrerequisites.json")["responses"]["200"]["body"].clone(),
        )),
        ("POST", "/startltrbackup") => {
            let name = req.body.pointer("/backupSettings/backupName").and_then(Value::as_str).unwrap_or("ltr").to_owned();
            let op_path = format!("{server}/ltrbackupoperations/{}", name.to_ascii_lowercase());
            let mut op = fixture_json("azure-arm/postgresql/BackupsLongTermRetentionGet.json")["responses"]["200"]["body"].clone();
            op["name"] = json!(name);
            op["properties"]["backupName"] = json!(name);
            op["properties"]["status"] = json!("Running");
            s.resources.insert(op_path.clone(), op);
            let done = json!({"properties": {"status": "Succeeded", "percentComplete": 100, "dataTransferredInBytes": 21}});
            Some(start_op(s, Some(op_path.clone()), false, base, vec![(op_path, done)]))
        }
        ("POST", "/restart") => {
            let mut then = Vec::new();
            if req.body.get("restartWithFailover") == Some(&json!(true))
                && let Some(v) = s.resources.get(&server)
            {
                let zone = v.pointer("/properties/availabilityZone").cloned().unwrap_or(Value::Null);
                let standby = v.pointer("/properties/highAvailability/standbyAvailabilityZone").cloned().unwrap_or(Value::Null);
                then.push((server.clone(), json!({"properties": {"availabilityZone": standby, "highAvailability": {"standbyAvailabilityZone": zone}}})));
            }
            Some(start_op(s, Some(server), false, base, then))
        }
        _ => None,
    }
}

/// Now in RFC 3339 with a `+00:00` offset, as `completedTime` is written.
fn chrono_now() -> String {
    sw_core::output::now_rfc3339().replace('Z', "+00:00")
}
