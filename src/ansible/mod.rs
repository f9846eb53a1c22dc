//! Ansible's module protocol for the collection's one executable: reading the arguments file,
//! checking options against each module's JSON Schema as Ansible's argument spec would, running
//! the module, and printing its one JSON result; plus the sidecar documentation of each module.

mod convert;
mod schema;
pub mod validate;

pub use validate::{validate_options, EnvLookup, Validation};
mod docs;
mod mask;
mod module;
mod outcome;
mod protocol;
mod yaml;

pub use docs::{
    check_sidecar, committed_module_docs_dir, render_sidecar, sidecar_path, stale_sidecars,
    write_sidecars, DocsError, MODULE_DOCS_DIR,
};
pub use mask::{remove_values, NO_LOG_PLACEHOLDER};
pub use module::{AnyModule, Documentation, Module, Support, DEFAULT_AUTHOR};
pub use outcome::{fqcn, Context, Failure, Outcome, COLLECTION};
pub use protocol::{module_result, run_module_file, run_module_file_with};

#[cfg(test)]
pub(crate) mod tests;
