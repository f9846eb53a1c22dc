//! `aurora-sim`: a simulator of the Aurora scheduler that speaks its real wire protocol and keeps
//! its semantics on a virtual clock. It reuses `api`'s types and codecs, and the crontab grammar
//! of `spec::crontab` (one parser for the module's checks and the scheduler's), nothing else.
//!
//! `server` is the HTTP face (content types, leader redirect, auth); `scheduler` answers calls and
//! runs the cluster, with `tasks` (the task store), `cluster` (hosts and placement) and
//! `validation` (validate-and-populate) and `updater` (rolling job updates, with `update_request`
//! for what startJobUpdate is asked), `maintenance` (host drains and SLA checks, with
//! `host_pages` for the `/maintenance` and `/agents` pages), `cron` (cron jobs and their next
//! runs, §4.5), `announcer` (the executors' ServerSet announcements in ZooKeeper); `config` says
//! what to simulate; `clock` is virtual time; `election` takes part in Aurora's leader election in
//! ZooKeeper (`--zk`); `ids` the seeded random choices and `state_dir` the log of accepted calls
//! that a restarted simulator, or a new leader, replays.

pub mod announcer;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod cron;
pub mod election;
pub mod host_pages;
pub mod ids;
pub mod maintenance;
pub mod scheduler;
pub mod server;
pub mod state_dir;
pub mod tasks;
pub mod update_request;
pub mod updater;
pub mod validation;
