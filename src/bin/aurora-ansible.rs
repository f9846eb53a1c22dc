//! The `aurora-ansible` executable: every Ansible module of the collection, and a CLI.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// Whether this is an Ansible module run: ansible-core starts a binary module with exactly one
/// argument, the path of its JSON arguments file (the module is named in the file), under the
/// name `AnsiballZ_<module>` (binary-modules.md §1.2-1.6). An argument that names a path, or a
/// run under a module's name, is a module run even when the file is missing, so that the
/// answer is the JSON failure Ansible can show, not the CLI's usage.
fn is_module_invocation(args: &[OsString]) -> bool {
    let [program, only] = args else {
        return false;
    };
    let text = only.to_string_lossy();
    if text.starts_with('-') {
        return false;
    }
    Path::new(only).is_file() || text.contains(std::path::MAIN_SEPARATOR) || runs_as_module(program)
}

/// Whether the executable was started under a module's name, as ansible-core's copy or the
/// collection's links are.
fn runs_as_module(program: &OsString) -> bool {
    let Some(name) = Path::new(program).file_name() else {
        return false;
    };
    let name = name.to_string_lossy();
    name.starts_with("AnsiballZ_")
        || aurora_ansible::modules::ALL
            .iter()
            .any(|module| module.name() == name)
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    if is_module_invocation(&args) {
        return aurora_ansible::ansible::run_module_file(
            aurora_ansible::modules::ALL,
            Path::new(&args[1]),
        );
    }
    ExitCode::from(aurora_ansible::cli::main(args))
}
