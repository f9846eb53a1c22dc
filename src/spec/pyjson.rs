//! JSON text as Python 2's `json.dumps` writes it with default settings (client-reference
//! §1.8.4): `", "` and `": "` separators, non-ASCII as `\uXXXX`, floats always with a decimal
//! point or exponent as `repr(float)` prints them, ints without. Keys are sorted so that the
//! same document always gives the same bytes.

use serde_json::{Number, Value};

/// The document as one line of Python-style JSON.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_string(out, key);
                out.push_str(": ");
                write_value(out, &map[key]);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        out.push_str(&float_repr(f));
    }
}

/// `repr(f)` of CPython 2.7: the shortest digits that read back as `f`, in positional notation
/// with at least one decimal for exponents -4..16, otherwise `d.ddde+XX`.
pub fn float_repr(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` gives the shortest round-tripping digits, e.g. "-1.25e-5".
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let text = if exponent >= 0 {
            let int_len = exponent as usize + 1;
            let mut padded = digits.clone();
            while padded.len() < int_len {
                padded.push('0');
            }
            let (int_part, frac) = padded.split_at(int_len);
            format!("{int_part}.{}", if frac.is_empty() { "0" } else { frac })
        } else {
            format!("0.{}{digits}", "0".repeat((-exponent - 1) as usize))
        };
        format!("{sign}{text}")
    } else {
        let (first, rest) = digits.split_at(1);
        let mantissa = if rest.is_empty() {
            first.to_string()
        } else {
            format!("{first}.{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.abs())
    }
}

/// A JSON string literal with Python's `ensure_ascii` escaping: everything outside printable
/// ASCII becomes `\uXXXX` (lowercase hex, surrogate pairs beyond the BMP).
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

/// Python's `str()` of a JSON scalar, as pystachio puts a number into a template.
pub fn python_str(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        Value::Number(n) if n.is_f64() => n.as_f64().map(float_repr),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separators_and_key_order_are_pythons_with_sorted_keys() {
        let doc = json!({"b": [1, 2], "a": {"y": true, "x": null}});
        assert_eq!(dumps(&doc), r#"{"a": {"x": null, "y": true}, "b": [1, 2]}"#);
    }

    #[test]
    fn floats_always_show_a_decimal_point_and_ints_never_do() {
        let doc = json!({"cpu": 1.0, "ram": 134217728, "half": 0.5, "neg": -2.0});
        assert_eq!(
            dumps(&doc),
            r#"{"cpu": 1.0, "half": 0.5, "neg": -2.0, "ram": 134217728}"#
        );
    }

    #[test]
    fn float_repr_switches_to_exponents_where_python_does() {
        for (value, want) in [
            (0.0, "0.0"),
            (15.0, "15.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (123.456, "123.456"),
            (-0.25, "-0.25"),
            (1e100, "1e+100"),
        ] {
            assert_eq!(float_repr(value), want, "{value}");
        }
    }

    #[test]
    fn non_ascii_and_control_characters_are_escaped_like_ensure_ascii() {
        let doc = json!("caf\u{e9} \u{1F600} \"q\" \\ \n\t\u{1}\u{7f}");
        assert_eq!(
            dumps(&doc),
            r#""caf\u00e9 \ud83d\ude00 \"q\" \\ \n\t\u0001\u007f""#
        );
    }

    #[test]
    fn python_str_of_scalars_matches_interpolation() {
        assert_eq!(python_str(&json!(5)).as_deref(), Some("5"));
        assert_eq!(python_str(&json!(0.5)).as_deref(), Some("0.5"));
        assert_eq!(python_str(&json!(true)).as_deref(), Some("True"));
        assert_eq!(python_str(&json!([1])), None);
    }
}
