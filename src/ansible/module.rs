//! The `Module` trait each module implements, its object-safe face `AnyModule` used for
//! dispatch and docs, and the `Documentation` a module gives about itself.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::outcome::{Context, Failure, Outcome};

/// One module of the collection, e.g. `aurora.scheduler.job`.
pub trait Module {
    /// Short name, e.g. `"job"` (the FQCN is `aurora.scheduler.NAME`).
    const NAME: &'static str;
    /// The options, checked against their JSON Schema before they are deserialised. Doc
    /// comments become the option descriptions of `ansible-doc`.
    type Options: DeserializeOwned + JsonSchema;
    fn documentation() -> Documentation;
    fn run(options: Self::Options, ctx: &mut Context) -> Result<Outcome, Failure>;
}

/// A module behind a reference, for the registry (`modules::ALL`).
pub trait AnyModule {
    fn name(&self) -> &'static str;
    /// The JSON Schema of the options (draft 2020-12, as schemars writes it).
    fn schema(&self) -> Value;
    fn documentation(&self) -> Documentation;
    /// Deserialises checked, normalised options and runs the module.
    fn run_params(&self, params: Value, ctx: &mut Context) -> Result<Outcome, Failure>;
}

impl<M: Module> AnyModule for M {
    fn name(&self) -> &'static str {
        M::NAME
    }

    fn schema(&self) -> Value {
        Value::from(schemars::schema_for!(M::Options))
    }

    fn documentation(&self) -> Documentation {
        M::documentation()
    }

    fn run_params(&self, params: Value, ctx: &mut Context) -> Result<Outcome, Failure> {
        let options: M::Options = serde_path_to_error::deserialize(params)
            .map_err(|e| Failure::new(describe_option_error(&e)))?;
        M::run(options, ctx)
    }
}

/// What serde still refuses after the schema checks (a size with an unknown unit, a
/// cross-field rule in a custom Deserialize), naming the option like the other errors do.
fn describe_option_error(error: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let mut names: Vec<String> = Vec::new();
    for segment in error.path().iter() {
        match segment {
            serde_path_to_error::Segment::Map { key } => names.push(key.clone()),
            serde_path_to_error::Segment::Seq { index } => match names.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => names.push(format!("[{index}]")),
            },
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {}
        }
    }
    let inner = error.inner();
    match names.split_last() {
        None => format!("invalid options: {inner}"),
        Some((name, [])) => format!("value of {name} is invalid: {inner}"),
        Some((name, parents)) => format!(
            "value of {name} is invalid: {inner} found in {}",
            parents.join(" -> ")
        ),
    }
}

/// How far a module honours check mode or diff mode, for the docs' `attributes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Full,
    /// Supported with limits, described in the text.
    Partial(String),
    /// Not supported. For check mode, the protocol then skips the module under `--check`, as
    /// AnsibleModule does.
    None,
}

/// A module's documentation besides its options (those come from the schema).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Documentation {
    pub short_description: String,
    /// Paragraphs.
    pub description: Vec<String>,
    pub notes: Vec<String>,
    pub author: Vec<String>,
    /// The `EXAMPLES` block: YAML text, a list of tasks.
    pub examples: String,
    /// The `RETURN` mapping as YAML text: `key: {description, returned, type, sample}` each.
    pub returns: String,
    pub check_mode: Support,
    pub diff_mode: Support,
}

/// The author every module lists unless it says otherwise (the collection's galaxy.yml).
pub const DEFAULT_AUTHOR: &str = "aurora-ansible developers";

impl Documentation {
    pub fn new(short_description: impl Into<String>) -> Documentation {
        Documentation {
            short_description: short_description.into(),
            description: Vec::new(),
            notes: Vec::new(),
            author: vec![DEFAULT_AUTHOR.to_owned()],
            examples: String::new(),
            returns: String::new(),
            check_mode: Support::Full,
            diff_mode: Support::Full,
        }
    }

    /// Adds a paragraph of description.
    pub fn description(mut self, paragraph: impl Into<String>) -> Documentation {
        self.description.push(paragraph.into());
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Documentation {
        self.notes.push(note.into());
        self
    }

    pub fn examples(mut self, yaml: impl Into<String>) -> Documentation {
        self.examples = yaml.into();
        self
    }

    pub fn returns(mut self, yaml: impl Into<String>) -> Documentation {
        self.returns = yaml.into();
        self
    }

    pub fn check_mode(mut self, support: Support) -> Documentation {
        self.check_mode = support;
        self
    }

    pub fn diff_mode(mut self, support: Support) -> Documentation {
        self.diff_mode = support;
        self
    }
}
