//! Mechanics every module shares: the connection options and client, waiting with a deadline,
//! reading tasks, and following rolling updates. Modules tell their story; this is the grammar.

pub mod announced;
pub mod connection;
pub mod hosts;
pub mod instances;
pub mod job_key;
pub mod job_model;
pub mod races;
pub mod scaling;
pub mod tasks;
pub mod updates;
pub mod wait;
pub mod web;
