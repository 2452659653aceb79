//! The plain-reqwest baseline sends the same request as the generated client.

/// The headers the generated client sends on every request, so that the
/// plain-reqwest baseline sends the same request: the bearer token,
/// `accept` and progenitor's `api-version` (the spec's `info.version`).
/// (The user agent is set on the baseline's HTTP client.)
pub fn same_request(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .bearer_auth("t")
        .header(reqwest::header::ACCEPT, "application/json")
        .header("api-version", "2.0.0")
}
