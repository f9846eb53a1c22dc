//! Ansible's conversions of one option value to the wanted type (module_utils/common/validation.py:
//! `check_type_*`), with the reasons worded as Ansible words them.

use serde_json::{Map, Number, Value};

/// Why a value could not be converted; the caller adds the option's name and path.
pub(crate) type Reason = String;

const TRUE_WORDS: [&str; 6] = ["y", "yes", "on", "1", "true", "t"];
const FALSE_WORDS: [&str; 6] = ["n", "no", "off", "0", "false", "f"];

/// The Python type name Ansible shows for a value (`native_type_name`).
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// `type(value)` as Python prints it, used in some of Ansible's messages.
fn python_class(value: &Value) -> String {
    format!("<class '{}'>", type_name(value))
}

/// Python's `repr()` of a JSON value, as Ansible's messages quote values.
pub(crate) fn python_repr(value: &Value) -> String {
    match value {
        Value::String(s) => python_str_repr(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", python_str_repr(k), python_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
        scalar => python_str(scalar),
    }
}

fn python_str_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Python's `str()` of a scalar: what Ansible makes of a number or boolean given for a string.
pub(crate) fn python_str(value: &Value) -> String {
    match value {
        Value::Null => "None".to_owned(),
        Value::Bool(true) => "True".to_owned(),
        Value::Bool(false) => "False".to_owned(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

/// `check_type_bool`: yes/no/true/false/on/off/y/n/t/f/1/0 in any case, and the numbers 1 and 0.
pub(crate) fn to_bool(value: &Value) -> Result<Value, Reason> {
    let word = match value {
        Value::Bool(b) => return Ok(Value::Bool(*b)),
        Value::String(s) => s.trim().to_lowercase(),
        Value::Number(n) => match n.as_f64() {
            Some(1.0) => return Ok(Value::Bool(true)),
            Some(0.0) => return Ok(Value::Bool(false)),
            _ => n.to_string(),
        },
        other => {
            return Err(format!(
                "{} cannot be converted to a bool",
                python_class(other)
            ))
        }
    };
    if TRUE_WORDS.contains(&word.as_str()) {
        Ok(Value::Bool(true))
    } else if FALSE_WORDS.contains(&word.as_str()) {
        Ok(Value::Bool(false))
    } else {
        Err(format!(
            "The value '{}' is not a valid boolean. Valid booleans include: {}",
            python_str(value),
            TRUE_WORDS
                .iter()
                .chain(FALSE_WORDS.iter())
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

/// `check_type_int`: integers, integral floats, and strings holding either (`" 12 "`, `"1e3"`, `"4.0"`).
pub(crate) fn to_int(value: &Value) -> Result<Value, Reason> {
    let cannot = || format!("\"{}\" cannot be converted to an int", python_repr(value));
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        Value::Number(n) => n.as_f64().and_then(integral).ok_or_else(cannot),
        Value::String(s) => {
            let text = s.trim().replace('_', "");
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::from(u));
            }
            // Decimal syntax only: Rust also parses "inf" and "nan", which Ansible refuses.
            let decimal = !text.is_empty()
                && text
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
            let parsed = if decimal {
                text.parse::<f64>().ok()
            } else {
                None
            };
            parsed.and_then(integral).ok_or_else(cannot)
        }
        _ => Err(cannot()),
    }
}

/// The integer a float stands for, when it has no fractional part and fits.
fn integral(x: f64) -> Option<Value> {
    let fits = x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e18;
    // The range check above makes the cast exact.
    fits.then(|| Value::from(x as i64))
}

/// `check_type_float`: numbers, and strings Python's `float()` reads.
pub(crate) fn to_float(value: &Value) -> Result<Value, Reason> {
    let parsed = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().replace('_', "").parse::<f64>().ok(),
        _ => None,
    };
    parsed
        .and_then(Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| format!("{} cannot be converted to a float", python_class(value)))
}

/// `check_type_str`: strings as they are, numbers and booleans as Python prints them.
pub(crate) fn to_str(value: &Value) -> Result<Value, Reason> {
    match value {
        Value::String(_) => Ok(value.clone()),
        Value::Number(_) | Value::Bool(_) => Ok(Value::String(python_str(value))),
        other => Err(format!(
            "'{}' is not a string and conversion is not allowed",
            python_repr(other)
        )),
    }
}

/// `check_type_list`: lists as they are, a comma-separated string split into items, a lone
/// number or boolean as a list of one. Unlike Ansible, items are trimmed (`a, b` is how people
/// write lists) and an empty string is an empty list.
pub(crate) fn to_list(value: &Value) -> Result<Vec<Value>, Reason> {
    match value {
        Value::Array(items) => Ok(items.clone()),
        Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
        Value::String(s) => Ok(s
            .split(',')
            .map(|item| Value::String(item.trim().to_owned()))
            .collect()),
        Value::Number(_) | Value::Bool(_) => Ok(vec![value.clone()]),
        other => Err(format!(
            "{} cannot be converted to a list",
            python_class(other)
        )),
    }
}

/// `check_type_dict`: dicts as they are, a JSON object in a string, or `k=v, k2=v2` (also
/// space-separated, with quotes and backslash escapes).
pub(crate) fn to_dict(value: &Value) -> Result<Map<String, Value>, Reason> {
    match value {
        Value::Object(map) => Ok(map.clone()),
        Value::String(s) if s.starts_with('{') => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err("unable to evaluate string as dictionary".to_owned()),
        },
        Value::String(s) if s.contains('=') => key_value_pairs(s),
        Value::String(_) => {
            Err("dictionary requested, could not parse JSON or key=value".to_owned())
        }
        other => Err(format!(
            "{} cannot be converted to a dict",
            python_class(other)
        )),
    }
}

fn key_value_pairs(text: &str) -> Result<Map<String, Value>, Reason> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.trim().chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    let mut map = Map::new();
    for field in fields {
        let Some((key, value)) = field.split_once('=') else {
            return Err(
                "unable to evaluate string in the \"key=value\" format as dictionary".to_owned(),
            );
        };
        map.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    Ok(map)
}

/// A string value that names one of `choices`: Ansible compares after converting numbers and
/// booleans given in YAML, and maps a YAML boolean back to the one boolean-like choice.
pub(crate) fn to_choice(value: &Value, choices: &[Value]) -> Option<Value> {
    if choices.contains(value) {
        return Some(value.clone());
    }
    if let Value::Bool(b) = value {
        let words = if *b { TRUE_WORDS } else { FALSE_WORDS };
        let matching: Vec<&Value> = choices
            .iter()
            .filter(|c| {
                c.as_str()
                    .is_some_and(|s| words.contains(&s.to_lowercase().as_str()))
            })
            .collect();
        if let [only] = matching.as_slice() {
            return Some((*only).clone());
        }
    }
    let as_text = match value {
        Value::String(s) => s.clone(),
        Value::Number(_) | Value::Bool(_) => python_str(value),
        _ => return None,
    };
    choices
        .iter()
        .find(|c| match c {
            Value::String(s) => *s == as_text,
            Value::Number(n) => n.to_string() == as_text,
            _ => false,
        })
        .cloned()
}

const SIZE_UNITS: &[(char, u32)] = &[('B', 0), ('K', 1), ('M', 2), ('G', 3), ('T', 4), ('P', 5)];

/// Bytes in a size as users write it (`1024`, `512MiB`, `512MB`, `512M`, `1.5G`, `2 GiB`,
/// case-insensitive units), like Ansible's `human_to_bytes`: K, M, G... are powers of 1024.
pub fn human_to_bytes(text: &str) -> Result<u64, Reason> {
    let bad = |why: &str| {
        format!("{text:?} is not a size: {why}; write bytes (1073741824) or a number with a unit such as 512MiB, 2GiB or 1.5G")
    };
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    if number.is_empty() {
        return Err(bad("it does not start with a number"));
    }
    let power =
        unit_power(unit.trim()).ok_or_else(|| bad(&format!("unknown unit {:?}", unit.trim())))?;
    let multiplier = 1024u64.pow(power);
    let bytes = if let Ok(whole) = number.parse::<u64>() {
        whole.checked_mul(multiplier)
    } else {
        let value: f64 = number.parse().map_err(|_| bad("the number is malformed"))?;
        let bytes = (value * multiplier as f64).round();
        (bytes.is_finite() && bytes <= i64::MAX as f64).then_some(bytes as u64)
    };
    match bytes {
        Some(b) if b <= i64::MAX as u64 => Ok(b),
        _ => Err(bad("it is too large")),
    }
}

/// The power of 1024 a unit stands for: `""`/`B` 0, `K`/`KB`/`KiB` 1, `M`/`MB`/`MiB` 2, ...
fn unit_power(unit: &str) -> Option<u32> {
    if unit.is_empty() {
        return Some(0);
    }
    let upper = unit.to_ascii_uppercase();
    let mut chars = upper.chars();
    let first = chars.next()?;
    let (_, power) = SIZE_UNITS.iter().find(|(c, _)| *c == first)?;
    let rest: String = chars.collect();
    let suffix_ok = if *power == 0 {
        rest.is_empty()
    } else {
        matches!(rest.as_str(), "" | "B" | "IB")
    };
    suffix_ok.then_some(*power)
}
