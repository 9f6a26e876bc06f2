//! The fake Entra ID token endpoints: client credentials (a secret or a
//! federated token) and App Service managed identity.

use super::*;

pub(super) fn token(s: &mut State, req: &Request) -> Reply {
    let form = crate::azure_https::form(&req.raw_body);
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    // A client secret, or a workload identity's federated token.
    let assertion = field("client_assertion") == Some(FEDERATED_TOKEN)
        && field("client_assertion_type") == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let ok = (req
        .raw_body
        .split('&')
        .any(|kv| kv == format!("client_secret={CLIENT_SECRET}"))
        || assertion)
        && req.raw_body.contains("grant_type=client_credentials");
    if !ok {
        return Reply::json(
            401,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": [7_000_215]}),
        );
    }
    s.tokens_issued += 1;
    let access = field("scope")
        .and_then(|sc| s.tokens_by_scope.get(sc).cloned())
        .unwrap_or_else(|| format!("fake-token-{}", s.tokens_issued));
    Reply::json(
        200,
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": access}),
    )
}

/// App Service managed identity: `expires_on` is a string of epoch seconds.
pub(super) fn msi_token(s: &mut State, req: &Request) -> Reply {
    if req.header("x-identity-header") != Some(IDENTITY_HEADER)
        || query_param(&req.target, "api-version").as_deref() != Some("2019-08-01")
        || query_param(&req.target, "resource").is_none()
    {
        return Reply::json(
            400,
            json!({"error": "invalid_request", "error_description": "bad managed identity request"}),
        );
    }
    s.tokens_issued += 1;
    let expires = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    Reply::json(
        200,
        json!({"access_token": format!("fake-token-mi-{}", s.tokens_issued), "expires_on": expires.to_string(),
               "resource": query_param(&req.target, "resource"), "token_type": "Bearer"}),
    )
}
