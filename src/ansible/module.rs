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
    /// Deserialises checked, normalised options without running anything: the message of
    /// `run_params`'s failure when they do not deserialise.
    fn check_params(&self, params: Value) -> Result<(), String>;
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
        let options = parse_options::<M::Options>(params).map_err(Failure::new)?;
        M::run(options, ctx)
    }

    fn check_params(&self, params: Value) -> Result<(), String> {
        parse_options::<M::Options>(params).map(drop)
    }
}

/// Deserialises checked options. What serde still refuses after the schema checks (a size with
/// an unknown unit, a cross-field rule in a custom Deserialize) is reported naming the option,
/// like the other errors.
pub(crate) fn parse_options<T: DeserializeOwned>(params: Value) -> Result<T, String> {
    let error = match serde_path_to_error::deserialize::<_, T>(&params) {
        Ok(options) => return Ok(options),
        Err(error) => error,
    };
    let path: Vec<PathPart> = error
        .path()
        .iter()
        .filter_map(|segment| match segment {
            serde_path_to_error::Segment::Map { key } => Some(PathPart::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(PathPart::Index(*index)),
            serde_path_to_error::Segment::Enum { .. } | serde_path_to_error::Segment::Unknown => {
                None
            }
        })
        .collect();
    let inner = error.inner().to_string();
    // serde does not track the path through `#[serde(flatten)]`, which every module uses for
    // its connection options: the path ends where a flattened struct starts. The rest is found
    // by taking values away.
    let path = locate_failure::<T>(&params, &inner, path);
    Err(describe_option_error(&path, &inner))
}

#[derive(Clone, Debug, PartialEq)]
enum PathPart {
    Key(String),
    Index(usize),
}

/// Most deserialisations `locate_failure` tries; options are small, this only stops a huge list.
const MAX_LOCATE_ATTEMPTS: usize = 256;

/// The path of the value that makes deserialising `params` fail with `error`, from `known` (a
/// path serde gave) down. At each level each entry is taken away in turn: serde stops at the
/// first bad value, so taking an innocent entry away leaves that error as it was, or, for a
/// required entry, turns it into "missing field" for that very entry (a struct with a flattened
/// part checks its own fields before reading the flattened ones). The culprit is the entry whose
/// removal does something else; when that does not single one out, the entry whose value the
/// message quotes. The descent stops where nothing tells.
fn locate_failure<T: DeserializeOwned>(
    params: &Value,
    error: &str,
    known: Vec<PathPart>,
) -> Vec<PathPart> {
    let mut attempts = 0;
    let mut path = known;
    loop {
        let Some(here) = value_at(params, &path) else {
            return path;
        };
        let children: Vec<(PathPart, &Value)> = match here {
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| (PathPart::Key(k.clone()), v))
                .collect(),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (PathPart::Index(i), v))
                .collect(),
            _ => return path,
        };
        let mut changed = Vec::new();
        let mut required = Vec::new();
        for (child, value) in children {
            attempts += 1;
            if attempts > MAX_LOCATE_ATTEMPTS {
                return path;
            }
            let mut candidate = params.clone();
            remove_at(&mut candidate, &path, &child);
            let after = match serde_json::from_value::<T>(candidate) {
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            match (&after, &child) {
                (Some(after), _) if after == error => {}
                (Some(after), PathPart::Key(key)) if *after == format!("missing field `{key}`") => {
                    required.push((child, value))
                }
                _ => changed.push((child, value)),
            }
        }
        let suspects = if changed.is_empty() {
            required
        } else {
            changed
        };
        let culprit = match suspects.as_slice() {
            [(only, _)] => Some(only.clone()),
            _ => {
                let quoted: Vec<&PathPart> = suspects
                    .iter()
                    .filter(|(_, value)| quotes(error, value))
                    .map(|(child, _)| child)
                    .collect();
                match quoted.as_slice() {
                    [only] => Some((*only).clone()),
                    _ => None,
                }
            }
        };
        match culprit {
            Some(child) => path.push(child),
            None => return path,
        }
    }
}

/// Whether an error message quotes this scalar value (serde quotes strings in Debug form,
/// numbers as written).
fn quotes(error: &str, value: &Value) -> bool {
    match value {
        Value::String(text) => {
            error.contains(&format!("{text:?}")) || error.contains(&format!("`{text}`"))
        }
        Value::Number(n) => error.contains(&n.to_string()),
        _ => false,
    }
}

fn value_at<'v>(value: &'v Value, path: &[PathPart]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, part| match part {
        PathPart::Key(key) => v.get(key),
        PathPart::Index(i) => v.get(i),
    })
}

fn remove_at(value: &mut Value, parent: &[PathPart], child: &PathPart) {
    let mut here = Some(value);
    for part in parent {
        here = here.and_then(|v| match part {
            PathPart::Key(key) => v.get_mut(key),
            PathPart::Index(i) => v.get_mut(i),
        });
    }
    match (here, child) {
        (Some(Value::Object(map)), PathPart::Key(key)) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), PathPart::Index(i)) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

/// `value of NAME is invalid: WHY found in PARENT -> ...`, as the schema checks word it.
fn describe_option_error(path: &[PathPart], inner: &str) -> String {
    let mut names: Vec<String> = Vec::new();
    for part in path {
        match part {
            PathPart::Key(key) => names.push(key.clone()),
            PathPart::Index(index) => match names.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => names.push(format!("[{index}]")),
            },
        }
    }
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
pub const DEFAULT_AUTHOR: &str = "aurora-ansible developers (@aurora-ansible)";

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
