//! `aurora-ansible schema MODULE` and `aurora-ansible docs [--check] [DIR]`: what the modules
//! say about their options, for people and for the committed documentation and action files.

use std::path::Path;

use super::{emit, CliError};
use crate::ansible::{
    action_file_path, doc_file_path, stale_doc_files, write_doc_files, AnyModule,
};

/// Prints the JSON Schema of a module's options.
pub fn schema(
    modules: &[&dyn AnyModule],
    name: &str,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let module = modules.iter().find(|m| m.name() == short).ok_or_else(|| {
        let known: Vec<&str> = modules.iter().map(|m| m.name()).collect();
        CliError::Usage(format!(
            "no module named {name:?}; the modules are: {}",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        ))
    })?;
    let mut text = serde_json::to_string_pretty(&module.schema()).unwrap_or_default();
    text.push('\n');
    emit(out, &text);
    Ok(())
}

/// Writes each module's documentation and action files under the plugin directory `dir`, or
/// with `check` only reports the ones that differ.
pub fn docs(
    modules: &[&dyn AnyModule],
    check: bool,
    dir: &Path,
    out: &mut dyn std::io::Write,
) -> Result<(), CliError> {
    if check {
        let stale = stale_doc_files(modules, dir).map_err(|e| CliError::Config(e.to_string()))?;
        if stale.is_empty() {
            emit(
                out,
                &format!(
                    "{} file(s) in {} are up to date\n",
                    2 * modules.len(),
                    dir.display()
                ),
            );
            return Ok(());
        }
        let lines: Vec<String> = stale.iter().map(|e| e.to_string()).collect();
        return Err(CliError::DocsDiffer(lines.join("\n")));
    }
    let written = write_doc_files(modules, dir).map_err(|e| CliError::Config(e.to_string()))?;
    let mut report = String::new();
    for module in modules {
        for path in [doc_file_path(dir, *module), action_file_path(dir, *module)] {
            let state = if written.contains(&path) {
                "wrote"
            } else {
                "unchanged"
            };
            report.push_str(&format!("{state} {}\n", path.display()));
        }
    }
    emit(out, &report);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ansible::tests::TEST_MODULES;

    fn output(
        run: impl FnOnce(&mut Vec<u8>) -> Result<(), CliError>,
    ) -> (Result<(), CliError>, String) {
        let mut out = Vec::new();
        let result = run(&mut out);
        (result, String::from_utf8(out).unwrap_or_default())
    }

    #[test]
    fn schema_prints_the_modules_json_schema_by_short_or_full_name() {
        for name in ["deploy", "aurora.scheduler.deploy"] {
            let (result, text) = output(|out| schema(TEST_MODULES, name, out));
            assert!(result.is_ok());
            let printed: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            assert_eq!(printed["title"], "DeployOptions");
            assert!(text.contains("\n  \"properties\""), "pretty-printed");
        }
    }

    #[test]
    fn schema_of_an_unknown_module_is_a_usage_error_listing_the_modules() {
        let (result, _) = output(|out| schema(TEST_MODULES, "jbo", out));
        let error = result.expect_err("unknown module");
        assert_eq!(error.exit_code(), crate::cli::exit::USAGE);
        assert_eq!(
            error.to_string(),
            "no module named \"jbo\"; the modules are: deploy, restart"
        );
    }

    #[test]
    fn docs_writes_each_modules_files_then_check_passes_until_one_is_edited() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (result, text) = output(|out| docs(TEST_MODULES, false, dir.path(), out));
        assert!(result.is_ok());
        assert!(
            text.starts_with("wrote ")
                && text.contains("modules/deploy.py\nwrote ")
                && text.contains("action/deploy.py\nwrote "),
            "{text}"
        );

        let (result, text) = output(|out| docs(TEST_MODULES, true, dir.path(), out));
        assert!(result.is_ok());
        assert!(text.starts_with("4 file(s) in "), "{text}");

        std::fs::write(dir.path().join("modules/restart.py"), "edited\n").expect("edit");
        let (result, _) = output(|out| docs(TEST_MODULES, true, dir.path(), out));
        let error = result.expect_err("stale");
        assert_eq!(error.exit_code(), crate::cli::exit::DOCS_DIFFER);
        assert!(
            error
                .to_string()
                .contains("restart.py is not what the code generates"),
            "{error}"
        );
        assert!(!error.to_string().contains("deploy.py"), "{error}");
    }
}
