//! The `aurora-ansible` executable: every Ansible module of the collection, and a CLI.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

/// Whether this is an Ansible module run: ansible-core starts a binary module with exactly one
/// argument, the path of its JSON arguments file (the module is named in the file).
fn is_module_invocation(args: &[OsString]) -> bool {
    match args {
        [_, only] => {
            let path = Path::new(only);
            !only.to_string_lossy().starts_with('-') && path.is_file()
        }
        _ => false,
    }
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
