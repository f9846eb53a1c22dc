//! Reads a module's JSON Schema (schemars 1.x output) as Ansible sees options: each schema node
//! becomes a `Node` of one Ansible type, with `$ref`, nullable unions, enums, flattened structs
//! and the `x-*` extensions resolved. The validator and the docs renderer both start here.
//!
//! Extensions understood (put them with `#[schemars(extend("x-..." = ...))]`):
//! - on a field: `x-env: "VAR"` (or a list of variables) read when the option is not given;
//!   `x-secret: true` masks the value in every output.
//! - on a struct: `x-mutually-exclusive`, `x-required-together`, `x-required-one-of`, each a list
//!   of lists of option names. schemars keeps only one value per key when a struct is
//!   `#[serde(flatten)]`ed into another, so any key that *starts* with one of these names counts
//!   (`x-mutually-exclusive-connection`): give a flattened struct its own suffix.
//! - `{"type": ["integer", "string"], "format": "bytes"}` is a size, passed through untouched;
//!   `"format": "path"` on a string documents it as a path (`~` is expanded).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// How deep `$ref`s and unions are followed before a node is taken as "any value"; only a
/// recursive type gets near it.
const MAX_DEPTH: usize = 32;

/// The whole schema, for resolving `$ref`.
#[derive(Clone, Copy)]
pub(crate) struct SchemaRoot<'a> {
    root: &'a Value,
}

/// One option's type and the annotations that travel with it.
#[derive(Clone, Debug)]
pub(crate) struct Node<'a> {
    pub kind: Kind<'a>,
    pub nullable: bool,
    /// The field's own doc comment first, else the doc comment of its type.
    pub description: Option<&'a str>,
    pub default: Option<&'a Value>,
    pub env: Vec<&'a str>,
    pub secret: bool,
    pub minimum: Option<f64>,
    pub maximum: Option<f64>,
    format: Option<&'a str>,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind<'a> {
    /// Anything goes (`serde_json::Value`, an untyped schema).
    Any,
    /// The schema `false`: no value is accepted.
    Never,
    Null,
    Bool,
    Int,
    Float,
    Str,
    Path,
    /// A byte size: an integer or a string with a unit, read by the option's own Deserialize.
    Size,
    Choices(Vec<Choice<'a>>),
    /// A list; `None` when the items are not described.
    List(Option<&'a Value>),
    Object(ObjectShape<'a>),
    /// A value that may take several shapes (an untagged enum, a type list).
    Union(Vec<Node<'a>>),
}

#[derive(Clone, Debug)]
pub(crate) struct Choice<'a> {
    pub value: Value,
    pub description: Option<&'a str>,
}

/// The options of a dict: its properties and the rules between them.
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectShape<'a> {
    pub properties: BTreeMap<&'a str, &'a Value>,
    pub required: BTreeSet<&'a str>,
    /// The doc comment of the struct or enum variant, for an alternative's docs.
    pub description: Option<&'a str>,
    pub additional: Additional<'a>,
    pub groups: Groups,
    /// Sets of alternative option groups (an enum with fields); exactly one of each set applies.
    pub variants: Vec<Vec<ObjectShape<'a>>>,
}

/// What a dict accepts besides its declared options.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Additional<'a> {
    /// Unknown options are errors (a struct).
    #[default]
    Reject,
    /// Anything, as it is (a free dict).
    Any,
    /// Any key, each value of this schema (a map).
    Schema(&'a Value),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Groups {
    pub mutually_exclusive: Vec<Vec<String>>,
    pub required_together: Vec<Vec<String>>,
    pub required_one_of: Vec<Vec<String>>,
}

impl<'a> SchemaRoot<'a> {
    pub fn new(root: &'a Value) -> Self {
        SchemaRoot { root }
    }

    /// The node of the whole schema (the module's options).
    pub fn top(&self) -> Node<'a> {
        self.node(self.root)
    }

    pub fn node(&self, schema: &'a Value) -> Node<'a> {
        self.node_at(schema, 0)
    }

    fn lookup(&self, reference: &str) -> Option<&'a Value> {
        reference
            .strip_prefix('#')
            .and_then(|pointer| self.root.pointer(pointer))
    }

    fn node_at(&self, schema: &'a Value, depth: usize) -> Node<'a> {
        let mut node = Node::new(Kind::Any);
        if depth > MAX_DEPTH {
            return node;
        }
        let mut current = schema;
        for _ in 0..MAX_DEPTH {
            let object = match current {
                Value::Object(object) => object,
                Value::Bool(false) => {
                    node.kind = Kind::Never;
                    return node;
                }
                _ => return node,
            };
            node.absorb_annotations(object);
            if let Some(target) = object
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| self.lookup(r))
            {
                current = target;
                continue;
            }
            node.kind = self.kind_of(object, &mut node, depth);
            return node;
        }
        node
    }

    fn kind_of(
        &self,
        object: &'a Map<String, Value>,
        node: &mut Node<'a>,
        depth: usize,
    ) -> Kind<'a> {
        let union = object
            .get("anyOf")
            .or_else(|| object.get("oneOf"))
            .and_then(Value::as_array);
        let types = type_names(object);
        let is_object = object.contains_key("properties")
            || object.contains_key("allOf")
            || types.as_ref().is_some_and(|t| t.contains(&"object"));

        if is_object {
            let mut shape = self.shape_of(object);
            if let Some(branches) = union {
                self.add_variants(&mut shape, branches, node, depth);
            }
            for part in object
                .get("allOf")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Kind::Object(other) = self.node_at(part, depth + 1).kind {
                    shape.absorb(other);
                }
            }
            if types.as_ref().is_some_and(|t| t.contains(&"null")) {
                node.nullable = true;
            }
            return Kind::Object(shape);
        }
        if let Some(branches) = union {
            return self.union(branches, node, depth);
        }
        if let Some(values) = object.get("enum").and_then(Value::as_array) {
            if values.iter().any(Value::is_null) {
                node.nullable = true;
            }
            let choices = values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| Choice {
                    value: v.clone(),
                    description: None,
                })
                .collect();
            return Kind::Choices(choices);
        }
        if let Some(value) = object.get("const") {
            return Kind::Choices(vec![Choice {
                value: value.clone(),
                description: object.get("description").and_then(Value::as_str),
            }]);
        }
        let Some(mut types) = types else {
            return Kind::Any;
        };
        if types.len() > 1 && types.contains(&"null") {
            node.nullable = true;
            types.retain(|t| *t != "null");
        }
        let format = node.format;
        if format == Some("bytes") && types.iter().all(|t| matches!(*t, "integer" | "string")) {
            return Kind::Size;
        }
        let kinds: Vec<Kind<'a>> = types
            .iter()
            .map(|t| simple_kind(t, object, format))
            .collect();
        match <[Kind; 1]>::try_from(kinds) {
            Ok([kind]) => kind,
            Err(kinds) => Kind::Union(kinds.into_iter().map(Node::new).collect()),
        }
    }

    /// The properties, required names, extra-key rule and groups of one object schema.
    fn shape_of(&self, object: &'a Map<String, Value>) -> ObjectShape<'a> {
        let properties: BTreeMap<&'a str, &'a Value> = object
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        let required = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let declared = object
            .get("additionalProperties")
            .or_else(|| object.get("unevaluatedProperties"));
        // Undeclared: a struct (it has properties or alternatives) rejects unknown keys, a bare
        // `{"type": "object"}` is a free dict.
        let has_parts = !properties.is_empty()
            || ["allOf", "anyOf", "oneOf"]
                .iter()
                .any(|k| object.contains_key(*k));
        let additional = match declared {
            Some(Value::Bool(false)) => Additional::Reject,
            Some(Value::Bool(true)) => Additional::Any,
            Some(schema @ Value::Object(_)) => Additional::Schema(schema),
            _ if has_parts => Additional::Reject,
            _ => Additional::Any,
        };
        ObjectShape {
            properties,
            required,
            description: object.get("description").and_then(Value::as_str),
            additional,
            groups: Groups::read(object),
            variants: Vec::new(),
        }
    }

    fn add_variants(
        &self,
        shape: &mut ObjectShape<'a>,
        branches: &'a [Value],
        node: &mut Node<'a>,
        depth: usize,
    ) {
        let mut alternatives = Vec::new();
        for branch in branches {
            let branch = self.node_at(branch, depth + 1);
            match branch.kind {
                Kind::Object(alternative) => alternatives.push(alternative),
                Kind::Null => node.nullable = true,
                _ => {}
            }
        }
        if !alternatives.is_empty() {
            shape.variants.push(alternatives);
        }
    }

    fn union(&self, branches: &'a [Value], node: &mut Node<'a>, depth: usize) -> Kind<'a> {
        let mut options: Vec<Node<'a>> = Vec::new();
        for branch in branches {
            let branch = self.node_at(branch, depth + 1);
            if matches!(branch.kind, Kind::Null) {
                node.nullable = true;
            } else {
                if branch.nullable {
                    node.nullable = true;
                }
                options.push(branch);
            }
        }
        if options.len() == 1 {
            let only = options.remove(0);
            node.absorb_node(&only);
            return only.kind;
        }
        if !options.is_empty() && options.iter().all(|o| matches!(o.kind, Kind::Choices(_))) {
            let choices = options
                .into_iter()
                .flat_map(|o| match o.kind {
                    Kind::Choices(c) => c,
                    _ => Vec::new(),
                })
                .collect();
            return Kind::Choices(choices);
        }
        if !options.is_empty() && options.iter().all(|o| matches!(o.kind, Kind::Object(_))) {
            let alternatives = options
                .into_iter()
                .filter_map(|o| match o.kind {
                    Kind::Object(shape) => Some(shape),
                    _ => None,
                })
                .collect();
            return Kind::Object(ObjectShape {
                variants: vec![alternatives],
                ..ObjectShape::default()
            });
        }
        if options.is_empty() {
            return Kind::Any;
        }
        Kind::Union(options)
    }
}

fn type_names(object: &Map<String, Value>) -> Option<Vec<&str>> {
    match object.get("type")? {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    }
}

fn simple_kind<'a>(
    type_name: &str,
    object: &'a Map<String, Value>,
    format: Option<&str>,
) -> Kind<'a> {
    match type_name {
        "null" => Kind::Null,
        "boolean" => Kind::Bool,
        "integer" => Kind::Int,
        "number" => Kind::Float,
        "string" if format == Some("path") => Kind::Path,
        "string" => Kind::Str,
        "array" => Kind::List(object.get("items")),
        _ => Kind::Any,
    }
}

impl<'a> Node<'a> {
    /// The values an integer option's Rust type holds, from the `format` schemars writes for it
    /// (`int32` for an `i32`...), so that a number out of range is refused with the option's name
    /// rather than by serde after the checks.
    pub fn integer_range(&self) -> Option<(i128, i128)> {
        let bits = |signed: bool, bits: u32| {
            if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            }
        };
        Some(match self.format? {
            "int8" => bits(true, 8),
            "int16" => bits(true, 16),
            "int32" => bits(true, 32),
            "int64" | "int" => bits(true, 64),
            "uint8" => bits(false, 8),
            "uint16" => bits(false, 16),
            "uint32" => bits(false, 32),
            "uint64" | "uint" => bits(false, 64),
            _ => return None,
        })
    }

    pub fn new(kind: Kind<'a>) -> Self {
        Node {
            kind,
            nullable: false,
            description: None,
            default: None,
            env: Vec::new(),
            secret: false,
            minimum: None,
            maximum: None,
            format: None,
        }
    }

    /// Takes the annotations of a schema object that are not set yet: the outermost (the
    /// field's) wins over the referenced type's.
    fn absorb_annotations(&mut self, object: &'a Map<String, Value>) {
        if self.description.is_none() {
            self.description = object.get("description").and_then(Value::as_str);
        }
        if self.default.is_none() {
            self.default = object.get("default");
        }
        if self.env.is_empty() {
            self.env = match object.get("x-env") {
                Some(Value::String(var)) => vec![var.as_str()],
                Some(Value::Array(vars)) => vars.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
        }
        if object.get("x-secret") == Some(&Value::Bool(true)) {
            self.secret = true;
        }
        if self.minimum.is_none() {
            self.minimum = object.get("minimum").and_then(Value::as_f64);
        }
        if self.maximum.is_none() {
            self.maximum = object.get("maximum").and_then(Value::as_f64);
        }
        if self.format.is_none() {
            self.format = object.get("format").and_then(Value::as_str);
        }
    }

    fn absorb_node(&mut self, other: &Node<'a>) {
        self.description = self.description.or(other.description);
        self.default = self.default.or(other.default);
        if self.env.is_empty() {
            self.env = other.env.clone();
        }
        self.secret |= other.secret;
        self.minimum = self.minimum.or(other.minimum);
        self.maximum = self.maximum.or(other.maximum);
        self.format = self.format.or(other.format);
    }
}

impl<'a> ObjectShape<'a> {
    /// Adds another part of the same dict (a flattened struct, a chosen variant).
    pub fn absorb(&mut self, other: ObjectShape<'a>) {
        if !matches!(other.additional, Additional::Reject) {
            self.additional = other.additional;
        }
        self.properties.extend(other.properties);
        self.required.extend(other.required);
        self.groups.absorb(other.groups);
        self.variants.extend(other.variants);
    }
}

impl Groups {
    fn read(object: &Map<String, Value>) -> Groups {
        let mut groups = Groups::default();
        for (key, value) in object {
            let target = if key.starts_with("x-mutually-exclusive") {
                &mut groups.mutually_exclusive
            } else if key.starts_with("x-required-together") {
                &mut groups.required_together
            } else if key.starts_with("x-required-one-of") {
                &mut groups.required_one_of
            } else {
                continue;
            };
            target.extend(name_lists(value));
        }
        groups
    }

    fn absorb(&mut self, other: Groups) {
        self.mutually_exclusive.extend(other.mutually_exclusive);
        self.required_together.extend(other.required_together);
        self.required_one_of.extend(other.required_one_of);
    }

    /// The groups an option is part of, for its documentation.
    pub fn mentioning<'g>(
        &'g self,
        option: &'g str,
    ) -> impl Iterator<Item = (GroupRule, &'g [String])> + 'g {
        let rules = [
            (GroupRule::MutuallyExclusive, &self.mutually_exclusive),
            (GroupRule::RequiredTogether, &self.required_together),
            (GroupRule::RequiredOneOf, &self.required_one_of),
        ];
        rules.into_iter().flat_map(move |(rule, lists)| {
            lists
                .iter()
                .filter(move |names| names.iter().any(|n| n == option))
                .map(move |names| (rule, names.as_slice()))
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupRule {
    MutuallyExclusive,
    RequiredTogether,
    RequiredOneOf,
}

/// `[["a", "b"], ["c", "d"]]`, or one flat `["a", "b"]` as a single group.
fn name_lists(value: &Value) -> Vec<Vec<String>> {
    let Some(items) = value.as_array() else {
        return Vec::new();
    };
    let names = |list: &Vec<Value>| -> Vec<String> {
        list.iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect()
    };
    if items.iter().all(Value::is_string) {
        return vec![names(items)];
    }
    items
        .iter()
        .filter_map(Value::as_array)
        .map(names)
        .collect()
}
