//! aurora-ansible: Ansible modules for Apache Aurora and `aurora-sim`, a simulator of its scheduler.
//!
//! Data flows one way: `modules` → `platform` → `spec` / `api` → scheduler. `sim` reuses `api`'s types and codecs
//! and is linked only into the `aurora-sim` binary. `cli` is the command line of `aurora-ansible`.
//! `fair_share` is the allocator of workers among batch frameworks, pure like `platform`.

pub mod ansible;
pub mod api;
pub mod cli;
pub mod fair_share;
pub mod modules;
pub mod platform;
pub mod sim;
pub mod spec;
