//! The Aurora scheduler's HTTP Thrift API: types, the two wire encodings, and the HTTP client.

pub mod codec;
pub mod methods;
pub mod tjson;
pub mod types;
#[macro_use]
pub mod wire;
