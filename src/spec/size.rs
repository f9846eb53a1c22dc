//! Sizes of RAM, disk and logs as users write them: a number of bytes, or a string with a unit
//! (`512MiB`, `2GiB`, `512MB`, `1.5G`). Units are binary, as in Ansible's `human_to_bytes` and
//! Aurora's `MB` constant: `M`, `MB` and `MiB` all mean 1024 × 1024 bytes.

use std::borrow::Cow;
use std::fmt;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// The option validator checks sizes with the same parser, so both agree on what a size is.
use crate::ansible::convert::human_to_bytes;

/// A size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

/// Bytes in a MiB, the unit of `TaskConfig` RAM and disk.
pub const MIB: u64 = 1024 * 1024;

impl Size {
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// Whole MiB, truncated as the Aurora client's integer division does.
    pub fn whole_mib(self) -> u64 {
        self.0 / MIB
    }

    pub fn mib(mib: u64) -> Size {
        Size(mib.saturating_mul(MIB))
    }

    /// Parses `1024`, `512MiB`, `512MB`, `512M`, `1.5G`, `2 GiB` (case-insensitive units).
    pub fn parse(text: &str) -> Result<Size, String> {
        human_to_bytes(text).map(Size)
    }
}

impl Size {
    /// The largest binary unit that divides the size exactly, with the count of it.
    fn exact_unit(self) -> Option<(u64, &'static str)> {
        [("TiB", 4u32), ("GiB", 3), ("MiB", 2), ("KiB", 1)]
            .into_iter()
            .find(|(_, p)| self.0 != 0 && self.0.is_multiple_of(1024u64.pow(*p)))
            .map(|(unit, p)| (self.0 / 1024u64.pow(p), unit))
    }

    /// The size as a user writes it in an option: `128MiB`, `2GiB`, `1536MiB`, or bytes
    /// (`1000`) when no binary unit divides it exactly. It parses back to the same size.
    pub fn as_written(self) -> String {
        match self.exact_unit() {
            Some((count, unit)) => format!("{count}{unit}"),
            None => self.0.to_string(),
        }
    }
}

impl fmt::Display for Size {
    /// Bytes, followed by the exact binary unit when there is one (`134217728 (128MiB)`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.exact_unit() {
            Some((count, unit)) => write!(f, "{} ({count}{unit})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Size, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: a number of bytes or a string such as 512MiB")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                if v > i64::MAX as u64 {
                    return Err(E::custom(format!("{v} bytes is too large")));
                }
                Ok(Size(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("{v} is negative; a size is at least 0 bytes")))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Size, E> {
                if v.fract() == 0.0 && v >= 0.0 && v <= i64::MAX as f64 {
                    Ok(Size(v as u64))
                } else {
                    Err(E::custom(format!("{v} is not a whole number of bytes")))
                }
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Size, E> {
                Size::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Size {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Size".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["integer", "string"], "format": "bytes"})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> u64 {
        Size::parse(text).unwrap().bytes()
    }

    #[test]
    fn megabytes_are_mebibytes_in_every_spelling() {
        for text in ["512MiB", "512MB", "512M", "512m", "512 mib", "512mb"] {
            assert_eq!(parse(text), 512 * MIB, "{text}");
        }
        assert_eq!(parse("2GiB"), 2 << 30);
        assert_eq!(parse("1.5G"), 1_610_612_736);
        assert_eq!(parse("4K"), 4096);
        assert_eq!(parse("1T"), 1 << 40);
    }

    #[test]
    fn a_bare_number_is_bytes() {
        assert_eq!(parse("1024"), 1024);
        assert_eq!(parse("100B"), 100);
        let size: Size = serde_json::from_str("134217728").unwrap();
        assert_eq!(size, Size::mib(128));
    }

    #[test]
    fn malformed_sizes_say_what_is_expected() {
        for text in ["", "MiB", "12XB", "1.2.3G", "5 MiBs", "-5M", "99999999999T"] {
            let e = Size::parse(text).unwrap_err();
            assert!(e.contains("512MiB"), "{text}: {e}");
        }
        assert!(serde_json::from_str::<Size>("-1").is_err());
        assert!(serde_json::from_str::<Size>("1.5").is_err());
    }

    #[test]
    fn deserialises_from_yaml_integers_and_strings() {
        let sizes: Vec<Size> = serde_yaml_ng::from_str("[1048576, 256MiB, '1G']").unwrap();
        assert_eq!(sizes, vec![Size::mib(1), Size::mib(256), Size::mib(1024)]);
    }

    #[test]
    fn whole_mib_truncates_like_python_integer_division() {
        assert_eq!(Size(MIB * 3 - 1).whole_mib(), 2);
        assert_eq!(Size(MIB - 1).whole_mib(), 0);
    }

    #[test]
    fn the_schema_marks_sizes_for_the_validator() {
        let schema = schemars::schema_for!(Size);
        assert_eq!(schema.get("format"), Some(&serde_json::json!("bytes")));
        assert_eq!(
            schema.get("type"),
            Some(&serde_json::json!(["integer", "string"]))
        );
    }

    #[test]
    fn display_shows_bytes_and_the_exact_unit() {
        assert_eq!(Size::mib(128).to_string(), "134217728 (128MiB)");
        assert_eq!(Size(1000).to_string(), "1000");
    }

    #[test]
    fn sizes_are_written_in_the_largest_exact_binary_unit() {
        for (size, written) in [
            (Size::mib(128), "128MiB"),
            (Size::mib(2048), "2GiB"),
            (Size::mib(1536), "1536MiB"),
            (Size(1 << 40), "1TiB"),
            (Size(4096), "4KiB"),
            (Size(1000), "1000"),
            (Size(0), "0"),
        ] {
            assert_eq!(size.as_written(), written);
            assert_eq!(Size::parse(written), Ok(size), "{written} parses back");
        }
    }
}
