//! The two sides of every comparison, set up alike: the plain-reqwest
//! baseline sends the same request as the generated client.

use qstash::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT};

/// The token both sides send.
pub const TOKEN: &str = "t";

/// The qstash side: a default client for the server at `base_url`.
pub fn qstash_client(base_url: &str) -> qstash::ClientBuilder {
    qstash::Client::builder().token(TOKEN).base_url(base_url)
}

/// A reqwest client with the settings a default `qstash::Client` gives its
/// own: connect and total timeouts, user agent. (A total timeout costs each
/// request a timer, on both sides.)
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(DEFAULT_CONNECT_TIMEOUT)
        .timeout(DEFAULT_TIMEOUT)
        .user_agent(DEFAULT_USER_AGENT)
        .build()
        .expect("reqwest client")
}

/// The headers the generated client sends on every request, so that the
/// plain-reqwest baseline sends the same request: the bearer token and
/// `accept`. (The user agent is set by [`http_client`].)
pub fn same_request(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    request
        .bearer_auth(TOKEN)
        .header(reqwest::header::ACCEPT, "application/json")
}
