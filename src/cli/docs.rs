//! `aurora-ansible schema MODULE` and `aurora-ansible docs [--check] [DIR]`: what the modules
//! say about their options, for people and for the committed sidecar files.

use std::path::Path;

use super::{emit, CliError};
use crate::ansible::{sidecar_path, stale_sidecars, write_sidecars, AnyModule};

/// Prints the JSON Schema of a module's options.
pub fn schema(modules: &[&dyn AnyModule], name: &str, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let short = name.rsplit('.').next().unwrap_or(name);
    let module = modules.iter().find(|m| m.name() == short).ok_or_else(|| {
        let known: Vec<&str> = modules.iter().map(|m| m.name()).collect();
        CliError::Usage(format!(
            "no module named {name:?}; the modules are: {}",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        ))
    })?;
    let mut text = serde_json::to_string_pretty(&module.schema()).unwrap_or_default();
    text.push('\n');
    emit(out, &text);
    Ok(())
}

/// Writes each module's sidecar into `dir`, or with `check` only reports the ones that differ.
pub fn docs(modules: &[&dyn AnyModule], check: bool, dir: &Path, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    if check {
        let stale = stale_sidecars(modules, dir).map_err(|e| CliError::Config(e.to_string()))?;
        if stale.is_empty() {
            emit(out, &format!("{} sidecar file(s) in {} are up to date\n", modules.len(), dir.display()));
            return Ok(());
        }
        let lines: Vec<String> = stale.iter().map(|e| e.to_string()).collect();
        return Err(CliError::DocsDiffer(lines.join("\n")));
    }
    let written = write_sidecars(modules, dir).map_err(|e| CliError::Config(e.to_string()))?;
    let mut report = String::new();
    for module in modules {
        let path = sidecar_path(dir, *module);
        let state = if written.contains(&path) { "wrote" } else { "unchanged" };
        report.push_str(&format!("{state} {}\n", path.display()));
    }
    emit(out, &report);
    Ok(())
}
