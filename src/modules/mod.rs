//! The modules of the `aurora.scheduler` collection, one file each. `ALL` is what the
//! executable dispatches on (`_ansible_module_name`) and what `aurora-ansible docs` documents.

use crate::ansible::AnyModule;

/// Every module, each a unit struct implementing `ansible::Module`: `&job::Job, ...`.
pub const ALL: &[&dyn AnyModule] = &[];
