//! aurora-ansible: Ansible modules for Apache Aurora and `aurora-sim`, a simulator of its scheduler.
//!
//! Data flows one way: `modules` → `spec` / `api` → scheduler. `sim` reuses `api`'s types and codecs
//! and is linked only into the `aurora-sim` binary.

pub mod api;
pub mod sim;
