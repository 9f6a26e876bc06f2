//! Operations a caller records: a mutating request whose ARM operation id
//! (the status monitor's last path segment) is known as soon as Azure has
//! accepted it, so an audit log can name it before the wait begins, then
//! the wait. Also the records the Azure paths print for requests a dry run
//! would send (`azure.request`) and for what Azure cannot do
//! (`azure.unsupported`, printed before the error, never faked).

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::azure::{ArmClient, Response, redact_url};
use crate::contract::Record;
use crate::error::{Error, Result};
use crate::output::Output;

/// A mutating request Azure has accepted.
#[derive(Debug, Clone)]
pub struct Started {
    pub method: String,
    /// The full URL (with the api-version).
    pub url: String,
    pub response: Response,
    /// The ARM operation id; None when Azure finished at once (200/204).
    pub operation_id: Option<String>,
}

/// The operation id in a 2xx response's monitor URL.
pub fn operation_id(r: &Response) -> Option<String> {
    let url = r.header("azure-asyncoperation").or_else(|| r.header("location"))?;
    redact_url(url)
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Send a mutating request; the accepted operation. A DELETE of what is
/// already gone (204/404) is accepted with no operation.
///
/// # Errors
/// The request's one-line ARM error with its exit code (65, 69, 75, 77).
pub fn start(c: &ArmClient, method: &str, path: &str, body: Option<&Value>) -> Result<Started> {
    let url = c.url(path);
    let response = c.request(method, &url, body)?;
    let gone = method == "DELETE" && matches!(response.status, 204 | 404);
    if !gone && !(200..300).contains(&response.status) {
        return Err(c.http_error(method, &url, &response));
    }
    let operation_id = if gone { None } else { operation_id(&response) };
    Ok(Started {
        method: method.to_owned(),
        url,
        response,
        operation_id,
    })
}

/// Wait for a started operation; for PUT/PATCH the resource as it is
/// afterwards, else the operation's result (often null).
///
/// # Errors
/// The failed operation's `error.code` and message (65, 69, 75).
pub fn finish(c: &ArmClient, s: &Started) -> Result<Value> {
    if s.method == "DELETE" && matches!(s.response.status, 204 | 404) {
        return Ok(Value::Null);
    }
    let result = c.wait(&s.method, &s.url, &s.response)?;
    if matches!(s.method.as_str(), "PUT" | "PATCH") {
        return c.get(&s.url);
    }
    Ok(result)
}

/// An HTTP method of a write to ARM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    Put,
    Patch,
    Delete,
    Post,
}

impl Method {
    /// As HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Post => "POST",
        }
    }
}

/// A request a dry run would send (printed before the run's result).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AzureRequest {
    /// The HTTP method.
    pub method: Method,
    /// The full URL, with the api-version.
    pub url: String,
    /// The JSON body as it would be sent; null for a request without one.
    pub body: Option<Value>,
}

impl Record for AzureRequest {
    const KIND: &'static str = "azure.request";
}

/// Something asked of an Azure target that Azure cannot do.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Unsupported {
    /// The command asked (`sw-backup verify`).
    pub command: String,
    /// What Azure cannot do (`wal_continuity`, `lsn_target`, `restore_in_place`, ...).
    pub feature: String,
    /// Why, and what to do instead.
    pub reason: String,
}

impl Record for Unsupported {
    const KIND: &'static str = "azure.unsupported";
}

/// Print an `azure.unsupported` record and return the matching error
/// (exit 64: the request cannot be made of an Azure target).
///
/// # Errors
/// 74 when stdout cannot be written.
pub fn unsupported(pretty: bool, command: &str, feature: &str, reason: &str) -> Error {
    let rec = Unsupported {
        command: command.to_owned(),
        feature: feature.to_owned(),
        reason: reason.to_owned(),
    };
    if let Err(e) = Output::stdout(pretty).emit(&rec) {
        return e;
    }
    Error::usage(format!("unsupported on Azure: {feature}: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_come_from_the_monitor_url() {
        let r = Response {
            status: 202,
            headers: vec![(
                "Azure-AsyncOperation".into(),
                "https://m/subscriptions/s/providers/Microsoft.DBforPostgreSQL/locations/eastus/azureAsyncOperation/aaaa-1?api-version=2025-06-01-preview".into(),
            )],
            body: Value::Null,
        };
        assert_eq!(operation_id(&r).as_deref(), Some("aaaa-1"));
        let r = Response {
            status: 200,
            headers: Vec::new(),
            body: Value::Null,
        };
        assert_eq!(operation_id(&r), None);
    }
}
