//! The Aurora scheduler's HTTP Thrift API: types, the two wire encodings, and the HTTP client.

pub mod aggregate;
pub mod client;
pub mod clusters;
pub mod codec;
pub mod host_pages;
pub mod keys;
pub mod methods;
#[cfg(test)]
pub(crate) mod test_server;
pub mod tjson;
pub(crate) mod tls;
pub mod types;
#[macro_use]
pub mod wire;
pub mod zookeeper;
