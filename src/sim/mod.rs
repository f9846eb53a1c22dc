//! `aurora-sim`: a simulator of the Aurora scheduler that speaks its real wire protocol and keeps
//! its semantics on a virtual clock. It reuses `api`'s types and codecs and nothing else.
//!
//! `server` is the HTTP face (content types, leader redirect, auth); `scheduler` answers calls and
//! runs the cluster; `config` says what cluster to simulate; `clock` maps real time to virtual time.

pub mod auth;
pub mod clock;
pub mod config;
pub mod scheduler;
pub mod server;
