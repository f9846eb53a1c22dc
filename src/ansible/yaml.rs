//! A small block-style YAML writer for the module documentation. serde_yaml_ng writes `yes`, `on` or
//! `1_000` unquoted, which PyYAML (YAML 1.1, what ansible-doc reads with) takes for a boolean or
//! a number; here every string that is not plainly a string is double-quoted.

use serde_json::Value;

/// A YAML node with its mapping keys in the order they are to be written.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Yaml {
    Scalar(Value),
    List(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    pub fn str(text: impl Into<String>) -> Yaml {
        Yaml::Scalar(Value::String(text.into()))
    }

    pub fn strs<S: AsRef<str>>(texts: &[S]) -> Yaml {
        Yaml::List(texts.iter().map(|t| Yaml::str(t.as_ref())).collect())
    }

    /// A JSON value; object keys come sorted (serde_json's order).
    pub fn json(value: &Value) -> Yaml {
        match value {
            Value::Array(items) => Yaml::List(items.iter().map(Yaml::json).collect()),
            Value::Object(map) => Yaml::Map(
                map.iter()
                    .map(|(k, v)| (k.clone(), Yaml::json(v)))
                    .collect(),
            ),
            scalar => Yaml::Scalar(scalar.clone()),
        }
    }
}

/// Writes the entries of a mapping at `indent` spaces.
pub(crate) fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize) {
    for (key, value) in entries {
        out.push_str(&" ".repeat(indent));
        out.push_str(&scalar_text(&Value::String(key.clone())));
        out.push(':');
        write_value_after_key(out, value, indent);
    }
}

fn write_value_after_key(out: &mut String, value: &Yaml, indent: usize) {
    match value {
        Yaml::Scalar(scalar) => write_scalar(out, scalar, indent + 2),
        Yaml::List(items) if items.is_empty() => out.push_str(" []\n"),
        Yaml::Map(entries) if entries.is_empty() => out.push_str(" {}\n"),
        Yaml::List(items) => {
            out.push('\n');
            write_list(out, items, indent + 2);
        }
        Yaml::Map(entries) => {
            out.push('\n');
            write_map(out, entries, indent + 2);
        }
    }
}

fn write_list(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        out.push_str(&" ".repeat(indent));
        out.push('-');
        match item {
            Yaml::Map(entries) if !entries.is_empty() => {
                // The first entry shares the dash's line, the others align with it.
                let mut first = String::new();
                write_map(&mut first, &entries[..1], 0);
                out.push(' ');
                out.push_str(&first);
                write_map(out, &entries[1..], indent + 2);
            }
            Yaml::Scalar(scalar) => write_scalar(out, scalar, indent + 2),
            nested => {
                out.push(' ');
                out.push_str(&flow_text(nested));
                out.push('\n');
            }
        }
    }
}

/// Lines of the written YAML stay within this width where a string can be folded (ansible-test's
/// pep8 check allows 160 columns in the Python files that carry it; shorter reads better).
const WIDTH: usize = 100;

/// A scalar after `key:` or `-` (a space, then the value), folded onto lines indented by
/// `continuation` spaces when a long string allows it.
fn write_scalar(out: &mut String, scalar: &Value, continuation: usize) {
    let text = scalar_text(scalar);
    let line_start = out.rfind('\n').map_or(0, |i| i + 1);
    let column = out.len() - line_start + 1;
    match scalar {
        Value::String(string) if column + text.len() > WIDTH && foldable(string) => {
            out.push_str(" >-\n");
            write_folded(out, string, continuation);
        }
        _ => {
            out.push(' ');
            out.push_str(&text);
            out.push('\n');
        }
    }
}

/// Whether a folded block scalar (`>-`) reads back as exactly this string: words separated by
/// single spaces, nothing at either end a fold would change.
fn foldable(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(['\n', '\t', '\r'])
        && !text.contains("  ")
        && !text.starts_with(' ')
        && !text.ends_with(' ')
}

fn write_folded(out: &mut String, text: &str, indent: usize) {
    let room = WIDTH.saturating_sub(indent).max(40);
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > room {
            out.push_str(&" ".repeat(indent));
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    out.push_str(&" ".repeat(indent));
    out.push_str(&line);
    out.push('\n');
}

/// A nested collection on one line, in JSON syntax (which YAML reads as flow style).
fn flow_text(node: &Yaml) -> String {
    match node {
        Yaml::Scalar(scalar) => scalar_text(scalar),
        Yaml::List(items) => format!(
            "[{}]",
            items.iter().map(flow_text).collect::<Vec<_>>().join(", ")
        ),
        Yaml::Map(entries) => format!(
            "{{{}}}",
            entries
                .iter()
                .map(|(k, v)| format!("{}: {}", quoted(k), flow_text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => float_text(n.as_f64().unwrap_or_default()),
        Value::Number(n) => n.to_string(),
        Value::String(s) if is_plain_safe(s) => s.clone(),
        Value::String(s) => quoted(s),
        nested => flow_text(&Yaml::json(nested)),
    }
}

fn quoted(text: &str) -> String {
    // A JSON string is a valid YAML double-quoted scalar.
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A float PyYAML reads back as a float: it needs a dot, and a sign after `e`.
fn float_text(x: f64) -> String {
    let text = format!("{x:?}");
    let Some((mantissa, exponent)) = text.split_once('e') else {
        return text;
    };
    let mantissa = if mantissa.contains('.') {
        mantissa.to_owned()
    } else {
        format!("{mantissa}.0")
    };
    let exponent = if exponent.starts_with('-') {
        exponent.to_owned()
    } else {
        format!("+{exponent}")
    };
    format!("{mantissa}e{exponent}")
}

/// Whether a string reads back as the same string when written plain, in YAML 1.1 and 1.2.
fn is_plain_safe(text: &str) -> bool {
    const KEYWORDS: [&str; 12] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    let starts_well = first.is_alphabetic() || first == '(';
    starts_well
        && text.trim() == text
        && !text.chars().any(|c| c.is_control())
        && !text.contains(": ")
        && !text.contains(" #")
        && !text.ends_with(':')
        && !KEYWORDS.contains(&text.to_lowercase().as_str())
}
