//! Checks a module's options against its JSON Schema the way Ansible's argument spec does:
//! unknown and required options, choices, defaults, environment fallbacks, groups of options,
//! type conversions. Produces the normalised options that are then deserialised, every error
//! found (not only the first), and the secret values to mask.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::convert::{self, type_name, Reason};
use super::mask;
use super::schema::{Additional, Choice, Kind, Node, ObjectShape, SchemaRoot};

/// Reads an environment variable; the real environment in a module run, a map in tests.
pub type EnvLookup<'e> = &'e dyn Fn(&str) -> Option<String>;

/// What checking the options found.
#[derive(Debug, Default)]
pub struct Validation {
    /// The options after conversion, with defaults and environment fallbacks filled in.
    pub params: Map<String, Value>,
    /// Every error but unknown options, in Ansible's wording, naming the option and its path.
    pub errors: Vec<String>,
    /// Unknown options, one message per dict that has some.
    pub unsupported: Vec<String>,
    /// Values of `x-secret` options (as given and as converted), to mask in every output.
    pub secrets: BTreeSet<String>,
}

impl Validation {
    /// All errors, unknown options first, as one message.
    pub fn message(&self) -> Option<String> {
        let all: Vec<&str> = self
            .unsupported
            .iter()
            .chain(&self.errors)
            .map(String::as_str)
            .collect();
        (!all.is_empty()).then(|| all.join("; "))
    }
}

/// Checks `params` (the user's options, `_ansible_*` keys already removed) against `schema`.
/// `module` is the FQCN used in messages.
pub fn validate_options(
    schema: &Value,
    params: &Map<String, Value>,
    module: &str,
    env: EnvLookup,
) -> Validation {
    let root = SchemaRoot::new(schema);
    let mut checker = Checker::new(root, module, env);
    let top = root.top();
    let params = match &top.kind {
        Kind::Object(shape) => checker.object(params, shape, &OptionPath::default()),
        _ => params.clone(),
    };
    Validation {
        params,
        errors: checker.errors,
        unsupported: checker.unsupported,
        secrets: checker.secrets,
    }
}

/// Where an option sits: `task -> processes[1] -> cmdline`.
#[derive(Clone, Debug, Default)]
struct OptionPath {
    segments: Vec<Segment>,
}

#[derive(Clone, Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl OptionPath {
    fn child(&self, key: &str) -> OptionPath {
        let mut path = self.clone();
        path.segments.push(Segment::Key(key.to_owned()));
        path
    }

    fn item(&self, index: usize) -> OptionPath {
        let mut path = self.clone();
        path.segments.push(Segment::Index(index));
        path
    }

    /// The option's own name: the last key (a list item is named by its list).
    fn name(&self) -> &str {
        self.segments
            .iter()
            .rev()
            .find_map(|s| match s {
                Segment::Key(k) => Some(k.as_str()),
                Segment::Index(_) => None,
            })
            .unwrap_or("")
    }

    fn render(segments: &[Segment], separator: &str) -> String {
        let mut text = String::new();
        for segment in segments {
            match segment {
                Segment::Key(key) => {
                    if !text.is_empty() {
                        text.push_str(separator);
                    }
                    text.push_str(key);
                }
                Segment::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        text
    }

    /// ` found in task -> resources` for an error about this option (its parents), or nothing
    /// at the top level.
    fn parents_suffix(&self) -> String {
        let last_key = self
            .segments
            .iter()
            .rposition(|s| matches!(s, Segment::Key(_)))
            .unwrap_or(0);
        Self::suffix(&self.segments[..last_key])
    }

    /// ` found in task -> resources` for an error about the options inside this dict.
    fn inside_suffix(&self) -> String {
        Self::suffix(&self.segments)
    }

    fn suffix(segments: &[Segment]) -> String {
        if segments.is_empty() {
            String::new()
        } else {
            format!(" found in {}", Self::render(segments, " -> "))
        }
    }

    /// `task.resources.foo`, as Ansible names an unknown nested option.
    fn dotted(&self, key: &str) -> String {
        Self::render(&self.child(key).segments, ".")
    }
}

struct Checker<'a, 'e> {
    root: SchemaRoot<'a>,
    module: &'e str,
    env: EnvLookup<'e>,
    errors: Vec<String>,
    unsupported: Vec<String>,
    secrets: BTreeSet<String>,
}

impl<'a, 'e> Checker<'a, 'e> {
    fn new(root: SchemaRoot<'a>, module: &'e str, env: EnvLookup<'e>) -> Self {
        Checker {
            root,
            module,
            env,
            errors: Vec::new(),
            unsupported: Vec::new(),
            secrets: BTreeSet::new(),
        }
    }

    /// Runs `check` on a scratch checker, to try one alternative without committing its errors.
    fn attempt<T>(&self, check: impl FnOnce(&mut Checker<'a, 'e>) -> T) -> (T, Checker<'a, 'e>) {
        let mut scratch = Checker::new(self.root, self.module, self.env);
        let value = check(&mut scratch);
        (value, scratch)
    }

    fn commit(&mut self, scratch: Checker<'a, 'e>) {
        self.errors.extend(scratch.errors);
        self.unsupported.extend(scratch.unsupported);
        self.secrets.extend(scratch.secrets);
    }

    fn error_count(&self) -> usize {
        self.errors.len() + self.unsupported.len()
    }

    fn object(
        &mut self,
        given: &Map<String, Value>,
        shape: &ObjectShape<'a>,
        path: &OptionPath,
    ) -> Map<String, Value> {
        if !shape.variants.is_empty() {
            return self.object_with_variants(given, shape, path);
        }
        let mut out = Map::new();
        if matches!(shape.additional, Additional::Reject) {
            self.reject_unknown(given, shape, path);
        }

        // Given values first, then environment fallbacks: both count for every rule below. An
        // environment variable is only a default, so it never stands in for an option that is
        // mutually exclusive with one the task gives: `cluster: prod` in a task wins over an
        // exported AURORA_SCHEDULER_URL instead of clashing with it (or losing to it).
        let is_given = |name: &str| given.get(name).is_some_and(|v| !v.is_null());
        let mut supplied: BTreeMap<&'a str, (Value, Node<'a>)> = BTreeMap::new();
        for (&name, &schema) in &shape.properties {
            let node = self.root.node(schema);
            let excluded_by_given = shape.groups.mutually_exclusive.iter().any(|group| {
                group.iter().any(|n| n == name) && group.iter().any(|n| n != name && is_given(n))
            });
            let value = given
                .get(name)
                .filter(|v| !v.is_null())
                .cloned()
                .or_else(|| {
                    (!excluded_by_given)
                        .then(|| self.env_value(&node))
                        .flatten()
                });
            if let Some(value) = value {
                if node.secret {
                    self.add_secret(&value);
                }
                self.add_url_password(&value);
                supplied.insert(name, (value, node));
            }
        }
        let suffix = path.inside_suffix();
        let clashes: Vec<String> = shape
            .groups
            .mutually_exclusive
            .iter()
            .filter(|group| {
                group
                    .iter()
                    .filter(|n| supplied.contains_key(n.as_str()))
                    .count()
                    > 1
            })
            .map(|group| group.join("|"))
            .collect();
        if !clashes.is_empty() {
            self.errors.push(format!(
                "parameters are mutually exclusive: {}{suffix}",
                clashes.join(", ")
            ));
        }

        for (&name, &schema) in &shape.properties {
            if supplied.contains_key(name) {
                continue;
            }
            let node = self.root.node(schema);
            if let Some(default) = node.default.filter(|d| !d.is_null()) {
                supplied.insert(name, (default.clone(), node));
            }
        }
        let missing: Vec<&str> = shape
            .required
            .iter()
            .copied()
            .filter(|name| !supplied.contains_key(name))
            .collect();
        if !missing.is_empty() {
            self.errors.push(format!(
                "missing required arguments: {}{suffix}",
                missing.join(", ")
            ));
        }
        for group in &shape.groups.required_together {
            let present = group
                .iter()
                .filter(|n| supplied.contains_key(n.as_str()))
                .count();
            if present > 0 && present < group.len() {
                self.errors.push(format!(
                    "parameters are required together: {}{suffix}",
                    group.join(", ")
                ));
            }
        }
        for group in &shape.groups.required_one_of {
            if !group.iter().any(|n| supplied.contains_key(n.as_str())) {
                self.errors.push(format!(
                    "one of the following is required: {}{suffix}",
                    group.join(", ")
                ));
            }
        }

        for (name, (value, node)) in &supplied {
            let converted = self.value(value, node, &path.child(name), false);
            if node.secret {
                self.add_secret(&converted);
            }
            out.insert((*name).to_owned(), converted);
        }
        for (key, value) in given {
            if shape.properties.contains_key(key.as_str()) {
                continue;
            }
            match shape.additional {
                Additional::Reject => {}
                Additional::Any => {
                    out.insert(key.clone(), value.clone());
                }
                Additional::Schema(schema) => {
                    let node = self.root.node(schema);
                    let converted = self.value(value, &node, &path.child(key), false);
                    out.insert(key.clone(), converted);
                }
            }
        }
        out
    }

    fn reject_unknown(
        &mut self,
        given: &Map<String, Value>,
        shape: &ObjectShape<'a>,
        path: &OptionPath,
    ) {
        let unknown: Vec<String> = given
            .keys()
            .filter(|k| !shape.properties.contains_key(k.as_str()))
            .map(|k| path.dotted(k))
            .collect();
        if !unknown.is_empty() {
            let supported: Vec<&str> = shape.properties.keys().copied().collect();
            self.unsupported.push(format!(
                "Unsupported parameters for ({}) module: {}. Supported parameters include: {}.",
                self.module,
                unknown.join(", "),
                supported.join(", ")
            ));
        }
    }

    /// A dict whose options come in alternatives (an enum with fields, possibly flattened
    /// next to ordinary options): picks the alternative the given keys ask for in each set.
    fn object_with_variants(
        &mut self,
        given: &Map<String, Value>,
        shape: &ObjectShape<'a>,
        path: &OptionPath,
    ) -> Map<String, Value> {
        let mut base = shape.clone();
        let sets = std::mem::take(&mut base.variants);
        let mut chosen = vec![base];
        for alternatives in &sets {
            let Some(candidates) = self.candidates(given, alternatives, path) else {
                return Map::new();
            };
            // Each alternative so far may combine with each candidate of this set.
            chosen = chosen
                .iter()
                .flat_map(|so_far| {
                    candidates.iter().map(move |candidate| {
                        let mut combined = so_far.clone();
                        combined.absorb((*candidate).clone());
                        combined
                    })
                })
                .collect();
        }
        self.best_of(chosen.len(), |checker, i| {
            checker.object(given, &chosen[i], path)
        })
        .unwrap_or_default()
    }

    /// The alternatives of one set that the given keys ask for, or `None` after reporting
    /// why none fits. An alternative with a tag (a property of one constant value, as
    /// `#[serde(tag = "kind")]` writes) is chosen by its tag, the others by their required keys.
    fn candidates<'s>(
        &mut self,
        given: &Map<String, Value>,
        alternatives: &'s [ObjectShape<'a>],
        path: &OptionPath,
    ) -> Option<Vec<&'s ObjectShape<'a>>> {
        let present = |name: &&str| given.get(*name).is_some_and(|v| !v.is_null());
        let suffix = path.inside_suffix();
        let tags: Vec<Vec<(&'a str, Value)>> = alternatives.iter().map(|a| self.tags(a)).collect();
        if tags.iter().any(|t| !t.is_empty()) {
            let matching: Vec<&ObjectShape<'a>> = alternatives
                .iter()
                .zip(&tags)
                .filter(|(_, tags)| {
                    !tags.is_empty()
                        && tags.iter().all(|(name, value)| {
                            given
                                .get(*name)
                                .and_then(|v| convert::to_choice(v, std::slice::from_ref(value)))
                                .is_some()
                        })
                })
                .map(|(alternative, _)| alternative)
                .collect();
            if !matching.is_empty() {
                return Some(matching);
            }
            let names: BTreeSet<&str> = tags.iter().flatten().map(|(name, _)| *name).collect();
            let absent: Vec<&str> = names.iter().copied().filter(|n| !present(n)).collect();
            if !absent.is_empty() {
                self.errors.push(format!(
                    "missing required arguments: {}{suffix}",
                    absent.join(", ")
                ));
            } else {
                for name in names {
                    let values: Vec<String> = tags
                        .iter()
                        .flatten()
                        .filter(|(n, _)| *n == name)
                        .map(|(_, v)| convert::python_str(v))
                        .collect();
                    let got = given.get(name).map(convert::python_str).unwrap_or_default();
                    self.errors.push(format!(
                        "value of {name} must be one of: {}, got: {got}{}",
                        values.join(", "),
                        path.child(name).parents_suffix()
                    ));
                }
            }
            return None;
        }

        let common: BTreeSet<&str> = alternatives
            .iter()
            .map(|a| a.required.clone())
            .reduce(|acc, r| acc.intersection(&r).copied().collect())
            .unwrap_or_default();
        let distinguishing: BTreeSet<&str> = alternatives
            .iter()
            .flat_map(|a| a.required.iter().copied())
            .filter(|n| !common.contains(n))
            .collect();
        let missing_common: Vec<&str> = common.iter().copied().filter(|n| !present(n)).collect();
        if !missing_common.is_empty() {
            self.errors.push(format!(
                "missing required arguments: {}{suffix}",
                missing_common.join(", ")
            ));
            return None;
        }
        let given_distinguishing: Vec<&str> =
            distinguishing.iter().copied().filter(present).collect();
        if given_distinguishing.len() > 1 {
            self.errors.push(format!(
                "parameters are mutually exclusive: {}{suffix}",
                given_distinguishing.join("|")
            ));
            return None;
        }
        let candidates: Vec<&ObjectShape<'a>> = alternatives
            .iter()
            .filter(|a| a.required.iter().all(present))
            .collect();
        if candidates.is_empty() {
            let names: Vec<&str> = distinguishing.into_iter().collect();
            self.errors.push(format!(
                "one of the following is required: {}{suffix}",
                names.join(", ")
            ));
            return None;
        }
        Some(candidates)
    }

    /// The properties of an alternative that can take one value only: its tag.
    fn tags(&self, alternative: &ObjectShape<'a>) -> Vec<(&'a str, Value)> {
        alternative
            .properties
            .iter()
            .filter_map(|(&name, &schema)| match self.root.node(schema).kind {
                Kind::Choices(choices) if choices.len() == 1 => {
                    Some((name, choices[0].value.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// Tries `count` alternatives and keeps the first without errors, else the one with the
    /// fewest (its errors are the ones reported).
    fn best_of<T>(
        &mut self,
        count: usize,
        mut check: impl FnMut(&mut Checker<'a, 'e>, usize) -> T,
    ) -> Option<T> {
        let mut best: Option<(T, Checker<'a, 'e>)> = None;
        for i in 0..count {
            let (value, scratch) = self.attempt(|checker| check(checker, i));
            let clean = scratch.error_count() == 0;
            let better = best
                .as_ref()
                .is_none_or(|(_, b)| scratch.error_count() < b.error_count());
            if better {
                best = Some((value, scratch));
            }
            if clean {
                break;
            }
        }
        let (value, scratch) = best?;
        self.commit(scratch);
        Some(value)
    }

    fn env_value(&self, node: &Node<'a>) -> Option<Value> {
        // An empty variable counts as unset: `AURORA_PASSWORD=` is how people unset one.
        node.env
            .iter()
            .find_map(|var| (self.env)(var).filter(|v| !v.is_empty()))
            .map(Value::String)
    }

    /// A password written into a URL (`https://user:password@host`) is a secret wherever an
    /// option holds it: the option may be refused because of it, and its value still appears in
    /// `invocation`.
    fn add_url_password(&mut self, value: &Value) {
        match value {
            Value::String(text) => self.secrets.extend(mask::url_passwords(text)),
            Value::Array(items) => items.iter().for_each(|v| self.add_url_password(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_url_password(v)),
            _ => {}
        }
    }

    fn add_secret(&mut self, value: &Value) {
        match value {
            Value::String(s) if !s.is_empty() => {
                self.secrets.insert(s.clone());
            }
            Value::Number(n) => {
                self.secrets.insert(n.to_string());
            }
            Value::Array(items) => items.iter().for_each(|v| self.add_secret(v)),
            Value::Object(map) => map.values().for_each(|v| self.add_secret(v)),
            _ => {}
        }
    }

    /// Converts one value to the node's type; `element` says it is an item of a list.
    fn value(&mut self, value: &Value, node: &Node<'a>, path: &OptionPath, element: bool) -> Value {
        if value.is_null() && (node.nullable || matches!(node.kind, Kind::Any | Kind::Null)) {
            return Value::Null;
        }
        match &node.kind {
            Kind::Any => value.clone(),
            Kind::Null => self.convert(value, path, element, "None", |_| {
                Err("only null is accepted".into())
            }),
            Kind::Never => {
                self.errors.push(format!(
                    "argument '{}' is not accepted{}",
                    path.name(),
                    path.parents_suffix()
                ));
                Value::Null
            }
            Kind::Bool => self.convert(value, path, element, "bool", convert::to_bool),
            Kind::Int => {
                let converted = self.convert(value, path, element, "int", convert::to_int);
                if !self.check_integer_type(&converted, node, path) {
                    self.check_range(&converted, node, path);
                }
                converted
            }
            Kind::Float => {
                let converted = self.convert(value, path, element, "float", convert::to_float);
                self.check_range(&converted, node, path);
                converted
            }
            Kind::Str => self.convert(value, path, element, "str", convert::to_str),
            Kind::Path => self.convert(value, path, element, "path", |v| {
                convert::to_str(v).map(|s| expand_home(s, self.env))
            }),
            // Checked here, so a bad size is reported with its option's path; passed on as
            // written, for the module's own Size type to read.
            Kind::Size => self.convert(value, path, element, "bytes", |v| match v {
                Value::Number(_) => Ok(v.clone()),
                Value::String(text) => convert::human_to_bytes(text).map(|_| v.clone()),
                other => Err(format!(
                    "a size is a number of bytes or a string such as 512MiB, not a {}",
                    type_name(other)
                )),
            }),
            Kind::Choices(choices) => self.choice(value, choices, path),
            Kind::List(items) => self.list(value, *items, path, element),
            Kind::Object(shape) => match convert::to_dict(value) {
                Ok(map) => Value::Object(self.object(&map, shape, path)),
                Err(reason) => {
                    self.type_error(value, path, element, "dict", reason);
                    value.clone()
                }
            },
            Kind::Union(options) => self.union(value, options, path, element),
        }
    }

    fn convert(
        &mut self,
        value: &Value,
        path: &OptionPath,
        element: bool,
        wanted: &str,
        conversion: impl FnOnce(&Value) -> Result<Value, Reason>,
    ) -> Value {
        match conversion(value) {
            Ok(converted) => converted,
            Err(reason) => {
                self.type_error(value, path, element, wanted, reason);
                value.clone()
            }
        }
    }

    fn type_error(
        &mut self,
        value: &Value,
        path: &OptionPath,
        element: bool,
        wanted: &str,
        reason: Reason,
    ) {
        let subject = if element {
            format!("Elements value for option '{}'", path.name())
        } else {
            format!("argument '{}'", path.name())
        };
        self.errors.push(format!(
            "{subject} is of type {} and we were unable to convert to {wanted}: {reason}{}",
            type_name(value),
            path.parents_suffix()
        ));
    }

    /// Refuses an integer its option's Rust type cannot hold (`i32`, `u64`...), in the words of
    /// `check_range`; true when it did.
    fn check_integer_type(&mut self, value: &Value, node: &Node<'a>, path: &OptionPath) -> bool {
        let Some((min, max)) = node.integer_range() else {
            return false;
        };
        let Value::Number(n) = value else {
            return false;
        };
        let Some(x) = n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
        else {
            return false;
        };
        let (bound, word) = match () {
            () if x < min => (min, "at least"),
            () if x > max => (max, "at most"),
            () => return false,
        };
        self.errors.push(format!(
            "value of {} must be {word} {bound}, got: {x}{}",
            path.name(),
            path.parents_suffix()
        ));
        true
    }

    fn check_range(&mut self, value: &Value, node: &Node<'a>, path: &OptionPath) {
        let Some(x) = value.as_f64() else { return };
        let (bound, word) = match (node.minimum, node.maximum) {
            (Some(min), _) if x < min => (min, "at least"),
            (_, Some(max)) if x > max => (max, "at most"),
            _ => return,
        };
        self.errors.push(format!(
            "value of {} must be {word} {bound}, got: {value}{}",
            path.name(),
            path.parents_suffix()
        ));
    }

    fn choice(&mut self, value: &Value, choices: &[Choice<'a>], path: &OptionPath) -> Value {
        let values: Vec<Value> = choices.iter().map(|c| c.value.clone()).collect();
        if let Some(chosen) = convert::to_choice(value, &values) {
            return chosen;
        }
        self.errors.push(format!(
            "value of {} must be one of: {}, got: {}{}",
            path.name(),
            choice_list(&values),
            convert::python_str(value),
            path.parents_suffix()
        ));
        value.clone()
    }

    fn list(
        &mut self,
        value: &Value,
        items: Option<&'a Value>,
        path: &OptionPath,
        element: bool,
    ) -> Value {
        let list = match convert::to_list(value) {
            Ok(list) => list,
            Err(reason) => {
                self.type_error(value, path, element, "list", reason);
                return value.clone();
            }
        };
        let Some(items) = items else {
            return Value::Array(list);
        };
        let node = self.root.node(items);
        if let Kind::Choices(choices) = &node.kind {
            let values: Vec<Value> = choices.iter().map(|c| c.value.clone()).collect();
            let mut unmatched = Vec::new();
            let chosen = list
                .iter()
                .map(|item| {
                    convert::to_choice(item, &values).unwrap_or_else(|| {
                        unmatched.push(convert::python_str(item));
                        item.clone()
                    })
                })
                .collect();
            if !unmatched.is_empty() {
                self.errors.push(format!(
                    "value of {} must be one or more of: {}. Got no match for: {}{}",
                    path.name(),
                    choice_list(&values),
                    unmatched.join(", "),
                    path.parents_suffix()
                ));
            }
            return Value::Array(chosen);
        }
        let converted = list
            .iter()
            .enumerate()
            .map(|(i, item)| self.value(item, &node, &path.item(i), true))
            .collect();
        Value::Array(converted)
    }

    /// A value of several possible shapes: the shapes it already has are tried first, then
    /// conversions in the declared order.
    fn union(
        &mut self,
        value: &Value,
        options: &[Node<'a>],
        path: &OptionPath,
        element: bool,
    ) -> Value {
        let mut order: Vec<&Node<'a>> = options.iter().collect();
        order.sort_by_key(|option| !already_fits(value, &option.kind));
        self.best_of(order.len(), |checker, i| {
            checker.value(value, order[i], path, element)
        })
        .unwrap_or_else(|| value.clone())
    }
}

/// Whether a value is already of the node's type, needing no conversion.
fn already_fits(value: &Value, kind: &Kind) -> bool {
    match (kind, value) {
        (Kind::Any, _) => true,
        (Kind::Null, Value::Null) | (Kind::Bool, Value::Bool(_)) => true,
        (Kind::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
        (Kind::Float, Value::Number(_)) => true,
        (Kind::Str | Kind::Path, Value::String(_)) => true,
        (Kind::Size, Value::Number(_) | Value::String(_)) => true,
        (Kind::Choices(choices), v) => choices.iter().any(|c| c.value == *v),
        (Kind::List(_), Value::Array(_)) => true,
        (Kind::Object(_), Value::Object(_)) => true,
        _ => false,
    }
}

fn choice_list(values: &[Value]) -> String {
    values
        .iter()
        .map(convert::python_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Ansible expands `~` in path options; `$VARS` are left alone, unlike Ansible, since the
/// module cannot tell a literal dollar from a variable.
fn expand_home(path: Value, env: EnvLookup) -> Value {
    let Value::String(text) = &path else {
        return path;
    };
    let rest = match text.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return path,
    };
    match env("HOME") {
        Some(home) => Value::String(format!("{home}{rest}")),
        None => path,
    }
}
