//! The one-line error for a Blob reply that is not a success: the
//! service's error code (`x-ms-error-code`, else the `<Error>` body), the
//! first line of its message, the authentication detail, the exit code
//! DESIGN.md gives the status, and for 401/403 what to check: an expired
//! SAS, a wrong key, a missing permission, or this host's clock (Azure
//! refuses requests more than 15 minutes off).

use super::auth::Auth;
use super::http::{Reply, retryable_status};
use super::{Client, xml};
use crate::error::Error;
use crate::exit::Exit;

impl Client {
    /// The one-line error for a final non-2xx reply.
    pub(super) fn status_error(&self, what: &str, reply: &Reply) -> Error {
        let (code, message, detail) = error_fields(reply);
        let exit = match reply.status {
            401 | 403 => Exit::NoPerm,
            // A malformed Authorization header or token (Azure sends 400).
            400 if code == "InvalidAuthenticationInfo" => Exit::NoPerm,
            404 => Exit::NoInput,
            400 | 409 | 412 | 416 => Exit::DataErr,
            s if retryable_status(s) => Exit::TempFail,
            _ => Exit::Unavailable,
        };
        let mut line = format!("{what}: HTTP {}", reply.status);
        if !code.is_empty() {
            line.push_str(&format!(" {code}"));
        }
        if !message.is_empty() {
            line.push_str(&format!(": {message}"));
        }
        if !detail.is_empty() && !message.contains(&detail) {
            line.push_str(&format!(" ({detail})"));
        }
        if exit == Exit::NoPerm {
            line.push_str(&format!("; {}", self.auth_hint(&code, &detail, reply)));
        }
        Error::new(exit, line)
    }

    /// What to check after a 401/403, from the error detail and the clock.
    fn auth_hint(&self, code: &str, detail: &str, reply: &Reply) -> String {
        let d = detail.to_ascii_lowercase();
        let skew = reply
            .header("date")
            .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
            .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds());
        if let Some(s) = skew
            && s.abs() > 300
        {
            return format!(
                "this host's clock is {}s off the service's (Azure allows 15 minutes): fix the clock (NTP)",
                s
            );
        }
        if d.contains("time frame") || d.contains("expired") || d.contains("not yet valid") {
            return "the SAS token has expired or is not valid yet: issue a new one".into();
        }
        if code == "AuthorizationPermissionMismatch" || code == "AuthorizationResourceTypeMismatch" {
            return format!("the {} lacks a permission this operation needs", self.auth.describe());
        }
        match self.auth {
            Auth::SharedKey { .. } => "the account key is wrong (or this host's clock is off)".into(),
            Auth::Sas(_) => "the SAS token is wrong, expired or lacks a permission".into(),
            Auth::Bearer(_) => "the identity lacks a Storage Blob Data role on the account".into(),
        }
    }
}

/// Code, first line of the message, and the authentication detail from
/// `x-ms-error-code` and the `<Error>` body.
fn error_fields(reply: &Reply) -> (String, String, String) {
    let mut code = reply.header("x-ms-error-code").unwrap_or("").to_owned();
    let mut message = String::new();
    let mut detail = String::new();
    if let Ok(text) = std::str::from_utf8(&reply.body)
        && let Ok(root) = xml::parse(text)
        && root.name == "Error"
    {
        if code.is_empty() {
            code = root.child_text("Code").unwrap_or("").to_owned();
        }
        // The message's later lines are RequestId and Time.
        message = root
            .child_text("Message")
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            // DESIGN.md: error lines end without a period.
            .trim_end_matches('.')
            .to_owned();
        detail = root
            .child_text("AuthenticationErrorDetail")
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    }
    (code, message, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_become_code_message_detail() {
        let reply = Reply {
            status: 403,
            headers: vec![],
            body: b"<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to \
                    authenticate the request.\nRequestId:1\nTime:2</Message><AuthenticationErrorDetail>Signature \
                    not valid in the specified time frame</AuthenticationErrorDetail></Error>"
                .to_vec(),
        };
        let (c, m, d) = error_fields(&reply);
        assert_eq!(c, "AuthenticationFailed");
        assert_eq!(m, "Server failed to authenticate the request");
        assert_eq!(d, "Signature not valid in the specified time frame");
    }
}
