//! The modules of the `aurora.scheduler` collection, one file each. `ALL` is what the
//! executable dispatches on (`_ansible_module_name`) and what `aurora-ansible docs` documents.

use crate::ansible::AnyModule;

pub mod cron_job;
pub mod fair_share;
pub mod host_info;
pub mod host_maintenance;
pub mod instances;
pub mod job;
pub mod job_info;
pub mod job_update;
pub mod platform;
pub mod quota;
pub mod software_inventory;
pub mod support;

/// Every module, each a unit struct implementing `ansible::Module`.
pub const ALL: &[&dyn AnyModule] = &[
    &job::Job,
    &job_info::JobInfo,
    &job_update::JobUpdate,
    &instances::Instances,
    &quota::Quota,
    &cron_job::CronJob,
    &host_info::HostInfo,
    &host_maintenance::HostMaintenance,
    &platform::Platform,
    &fair_share::FairShare,
    &software_inventory::SoftwareInventory,
];

#[cfg(test)]
mod tests {
    use super::ALL;
    use crate::ansible::{
        check_doc_files, committed_plugins_dir, render_doc_texts, validated_examples,
    };
    use serde_yaml_ng::Value;

    #[test]
    fn every_module_documentation_and_action_file_is_current() {
        for module in ALL {
            if let Err(stale) = check_doc_files(*module, &committed_plugins_dir()) {
                panic!(
                    "{stale}; run `aurora-ansible docs` and commit plugins/modules/{0}.py and \
                     plugins/action/{0}.py",
                    module.name()
                );
            }
        }
    }

    /// An option without a doc comment reads "Not documented." in ansible-doc.
    #[test]
    fn every_option_of_every_module_is_documented() {
        for module in ALL {
            let texts = render_doc_texts(*module).unwrap();
            assert!(
                !texts.documentation.contains("Not documented."),
                "{}: an option has no doc comment",
                module.name()
            );
        }
    }

    #[test]
    fn every_module_example_is_valid() {
        for module in ALL {
            validated_examples(*module).unwrap_or_else(|e| panic!("{}: {e}", module.name()));
        }
    }

    /// meta/runtime.yml's action groups, as module_defaults uses them: `all` holds every module
    /// (the connection options), `jobs` exactly those that take a job key's role and environment,
    /// so that defaults for the group never reach a module that would refuse them.
    #[test]
    fn action_groups_hold_the_modules_that_take_their_options() {
        let plugins = committed_plugins_dir();
        let runtime: Value = serde_yaml_ng::from_str(
            &std::fs::read_to_string(plugins.join("../meta/runtime.yml")).unwrap(),
        )
        .unwrap();
        let group = |name: &str| -> Vec<String> {
            let members = runtime["action_groups"][name].as_sequence().unwrap();
            let mut names: Vec<String> = members
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            names.sort();
            names
        };
        let mut every: Vec<String> = ALL.iter().map(|m| m.name().to_string()).collect();
        every.sort();
        assert_eq!(group("all"), every);

        let mut job_key_modules: Vec<String> = ALL
            .iter()
            .filter(|m| {
                let properties = &m.schema()["properties"];
                ["role", "environment"]
                    .iter()
                    .all(|option| properties.get(option).is_some())
            })
            .map(|m| m.name().to_string())
            .collect();
        job_key_modules.sort();
        assert_eq!(group("jobs"), job_key_modules);
    }
}
