//! The Aurora scheduler's HTTP Thrift API: types, the two wire encodings, and the HTTP client.

pub mod tjson;
