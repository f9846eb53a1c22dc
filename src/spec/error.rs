//! The one error type of the job model: which option is wrong (by its dotted path, as the user
//! wrote it) and what to do about it.

use std::fmt;

/// A job definition the model refuses. `option` is the dotted path of the offending option
/// (`task.resources.ram`, `task.processes[1].name`, `executor_config.task`); `message` says what
/// is wrong and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError {
    pub option: String,
    pub message: String,
}

impl SpecError {
    pub fn new(option: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError {
            option: option.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.option, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Where the Thermos document being checked came from: built from the module's options, or
/// given whole in `executor_config`. Checks run on the document; this turns a document path
/// back into the option the user actually wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Options,
    ExecutorConfig,
}

/// Document paths that are spelled differently as options; the longest prefix wins.
const OPTION_SPELLINGS: &[(&str, &str)] = &[
    (
        "health_check_config.health_checker.shell.shell_command",
        "health_check.shell.command",
    ),
    (
        "health_check_config.health_checker.http",
        "health_check.http",
    ),
    ("health_check_config.health_checker", "health_check"),
    ("health_check_config", "health_check"),
    ("lifecycle.http", "lifecycle"),
    ("task.constraints", "task.ordering"),
    ("update_config", "update"),
];

impl Source {
    /// The option path under which the user wrote what ended up at `doc_path`.
    pub(crate) fn option_path(self, doc_path: &str) -> String {
        match self {
            Source::ExecutorConfig if doc_path.is_empty() => "executor_config".to_string(),
            Source::ExecutorConfig => format!("executor_config.{doc_path}"),
            Source::Options => {
                for (doc, option) in OPTION_SPELLINGS {
                    if let Some(rest) = doc_path.strip_prefix(doc) {
                        if rest.is_empty() || rest.starts_with(['.', '[']) {
                            let rest = rest.strip_suffix(".order").unwrap_or(rest);
                            return format!("{option}{rest}");
                        }
                    }
                }
                doc_path.to_string()
            }
        }
    }

    /// An error about what ended up at `doc_path`, named as the user wrote it.
    pub(crate) fn error(self, doc_path: &str, message: impl Into<String>) -> SpecError {
        SpecError::new(self.option_path(doc_path), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_paths_are_reported_as_the_options_the_user_wrote() {
        let options = Source::Options;
        assert_eq!(
            options.option_path("health_check_config.interval_secs"),
            "health_check.interval_secs"
        );
        assert_eq!(
            options.option_path("health_check_config.health_checker.shell.shell_command"),
            "health_check.shell.command"
        );
        assert_eq!(options.option_path("lifecycle.http.port"), "lifecycle.port");
        assert_eq!(
            options.option_path("task.constraints[1].order"),
            "task.ordering[1]"
        );
        assert_eq!(
            options.option_path("task.processes[1].name"),
            "task.processes[1].name"
        );
        assert_eq!(
            Source::ExecutorConfig.option_path("task.resources.ram"),
            "executor_config.task.resources.ram"
        );
    }

    #[test]
    fn the_message_starts_with_the_option() {
        let e = SpecError::new("task.resources.ram", "must be at least 1MiB");
        assert_eq!(e.to_string(), "task.resources.ram: must be at least 1MiB");
    }
}
