//! Plain HTTP GETs to URLs a user names (a health check that gates pulses, a framework's load):
//! not the scheduler, so none of its client's redirects, credentials or retries.

use std::time::Duration;

use crate::ansible::Failure;

/// A client for user-named URLs: `timeout` per request, TLS checked against the system's roots.
pub fn web_client(option: &str, timeout: Duration) -> Result<reqwest::blocking::Client, Failure> {
    // reqwest is built without a default TLS provider; ring is the one linked in. An error
    // means one is installed already, which serves as well.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::blocking::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|e| Failure::new(format!("{option}: cannot build an HTTP client: {e}")))
}
