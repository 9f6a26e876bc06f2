//! Long-running operations: the 202 with its monitors, the polls that
//! stay InProgress, and what a finished operation changes.

use super::*;

pub(super) fn start_op(
    s: &mut State,
    resource: Option<String>,
    delete: bool,
    base: &str,
    then: Vec<(String, Value)>,
) -> Reply {
    s.next_id += 1;
    let id = format!("00000000-0000-0000-0000-{:012}", s.next_id);
    let fail = resource.as_ref().and_then(|r| {
        let i = s
            .fail_next
            .iter()
            .position(|(p, _, _)| r.contains(&p.to_ascii_lowercase()))?;
        let (_, code, msg) = s.fail_next.remove(i);
        Some((code, msg))
    });
    s.ops.insert(
        id.clone(),
        Op {
            remaining: s.in_progress_polls,
            polls: 0,
            resource,
            delete,
            fail,
            done: false,
            then,
        },
    );
    let loc = format!("{base}/subscriptions/{SUBSCRIPTION}/providers/Microsoft.DBforPostgreSQL/locations/eastus");
    let mut headers = vec![
        (
            "Location".into(),
            format!("{loc}/operationResults/{id}?api-version={MONITOR_API_VERSION}"),
        ),
        ("Retry-After".into(), s.retry_after.to_string()),
    ];
    if !s.location_only {
        headers.insert(
            0,
            (
                "Azure-AsyncOperation".into(),
                format!("{loc}/azureAsyncOperation/{id}?api-version={MONITOR_API_VERSION}"),
            ),
        );
    }
    Reply {
        status: 202,
        headers,
        body: None,
    }
}

/// Advance an operation by one observation; true when it just finished.
pub(super) fn advance(s: &mut State, id: &str) {
    let Some(op) = s.ops.get_mut(id) else { return };
    if op.done {
        return;
    }
    if op.remaining > 0 {
        op.remaining -= 1;
        return;
    }
    op.done = true;
    let (res, delete, failed) = (op.resource.clone(), op.delete, op.fail.is_some());
    let then = if failed {
        Vec::new()
    } else {
        std::mem::take(&mut op.then)
    };
    for (path, patch) in then {
        if let Some(v) = s.resources.get_mut(&path) {
            merge(v, &patch);
        }
    }
    if let Some(r) = res {
        if delete && !failed {
            s.resources.remove(&r);
        } else if let Some(v) = s.resources.get_mut(&r)
            && v.pointer("/properties/state").is_some()
        {
            v["properties"]["state"] = json!(if failed { "Disabled" } else { "Ready" });
        }
    }
}

pub(super) fn poll(s: &mut State, req: &Request) -> Reply {
    let path = req.path();
    // Monitor URLs must be used verbatim: their own api-version, not ours.
    if query_param(&req.target, "api-version").as_deref() != Some(MONITOR_API_VERSION) {
        return arm_error(
            400,
            "InvalidApiVersionParameter",
            "the monitor URL was not used verbatim",
        );
    }
    let id = path.rsplit('/').next().unwrap_or("").to_owned();
    let Some(op) = s.ops.get_mut(&id) else {
        return arm_error(404, "OperationNotFound", "no such operation");
    };
    op.polls += 1;
    advance(s, &id);
    let op = s.ops[&id].clone();
    let retry = s.retry_after.to_string();
    if path.contains("/operationresults/") {
        return match (op.done, &op.fail) {
            (false, _) => Reply {
                status: 202,
                headers: vec![("Retry-After".into(), retry)],
                body: None,
            },
            (true, Some((code, msg))) => arm_error(400, code, msg),
            (true, None) => Reply {
                status: 204,
                headers: Vec::new(),
                body: None,
            },
        };
    }
    let mut body = json!({"name": id, "status": "InProgress", "startTime": "2025-06-01T18:30:22.123456Z"});
    let mut headers = Vec::new();
    match (op.done, &op.fail) {
        (false, _) => headers.push(("Retry-After".into(), retry)),
        (true, Some((code, msg))) => {
            body["status"] = json!("Failed");
            body["error"] = json!({"code": code, "message": msg});
        }
        (true, None) => body["status"] = json!("Succeeded"),
    }
    Reply {
        status: 200,
        headers,
        body: Some(body),
    }
}
