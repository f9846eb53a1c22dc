//! Ansible's module protocol for the collection's one executable: reading the arguments file,
//! checking options against each module's JSON Schema as Ansible's argument spec would, running
//! the module, and printing its one JSON result; plus the documentation file of each module.
//!
//! A module is a unit struct implementing [`Module`], listed in `crate::modules::ALL`:
//!
//! ```text
//! /// Options of aurora.scheduler.job (doc comments become ansible-doc text).
//! #[derive(Deserialize, JsonSchema)]
//! #[schemars(extend("x-mutually-exclusive" = [["a", "b"]]))]
//! pub struct JobModuleOptions {
//!     #[serde(flatten)]
//!     pub connection: ConnectionOptions,   // its own groups: "x-mutually-exclusive-connection"
//!     /// Job name.
//!     pub name: String,
//!     /// Password for basic authentication.
//!     #[schemars(extend("x-env" = "AURORA_PASSWORD", "x-secret" = true))]
//!     pub password: Option<String>,
//!     ...
//! }
//!
//! pub struct Job;
//! impl Module for Job {
//!     const NAME: &'static str = "job";
//!     type Options = JobModuleOptions;
//!     fn documentation() -> Documentation {
//!         Documentation::new("Create, update and kill Aurora jobs")
//!             .description("...")
//!             .examples(include_str!("job_examples.yml"))
//!             .returns(include_str!("job_return.yml"))
//!     }
//!     fn run(options: JobModuleOptions, ctx: &mut Context) -> Result<Outcome, Failure> {
//!         if ctx.check_mode { ... }
//!         Ok(Outcome::changed(true).msg("created").field("job_key", key).diff(before, after))
//!     }
//! }
//! ```
//!
//! Its test `check_doc_files(&Job, &committed_plugins_dir())` keeps `plugins/modules/job.py`
//! (written by `aurora-ansible docs`) in step with the code. A module never prints to stdout.

pub mod convert;
mod docs;
mod mask;
mod module;
mod outcome;
mod protocol;
mod schema;
mod validate;
mod yaml;

pub use docs::{
    action_file_path, check_doc_files, committed_plugins_dir, doc_file_path, render_action_file,
    render_doc_file, render_doc_texts, stale_doc_files, validated_examples, write_doc_files,
    DocTexts, DocsError, PLUGINS_DIR,
};
pub use mask::{remove_values, NO_LOG_PLACEHOLDER};
pub use module::{AnyModule, Documentation, Module, Support, DEFAULT_AUTHOR};
pub use outcome::{fqcn, Context, Failure, Outcome, COLLECTION};
pub use protocol::{check_module_args, module_result, run_module_file, run_module_file_with};
pub use validate::{validate_options, EnvLookup, Validation};

#[cfg(test)]
pub(crate) mod tests;
