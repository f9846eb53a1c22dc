//! Apache Thrift's JSON protocol (TJSONProtocol), byte-compatible with the Java implementation the
//! Aurora scheduler serves on `/api`, on top of the `thrift` crate's protocol traits.

use std::io::Write;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TMessageIdentifier,
    TMessageType, TOutputProtocol, TSetIdentifier, TStructIdentifier, TType,
};
use thrift::{
    ProtocolError, ProtocolErrorKind, TConfiguration, TransportError, TransportErrorKind,
};

/// The only message version TJSONProtocol has ever used.
const VERSION: i64 = 1;

/// Java writes base64 without padding; other implementations pad, and Java's reader tolerates both
/// and ignores stray trailing bits, so the reader must too.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

fn protocol_error(kind: ProtocolErrorKind, message: impl Into<String>) -> thrift::Error {
    thrift::Error::Protocol(ProtocolError::new(kind, message))
}

fn invalid(message: impl Into<String>) -> thrift::Error {
    protocol_error(ProtocolErrorKind::InvalidData, message)
}

fn type_tag(ttype: TType) -> thrift::Result<&'static str> {
    Ok(match ttype {
        TType::Bool => "tf",
        TType::I08 => "i8",
        TType::I16 => "i16",
        TType::I32 => "i32",
        TType::I64 => "i64",
        TType::Double => "dbl",
        TType::String => "str",
        TType::Struct => "rec",
        TType::Map => "map",
        TType::Set => "set",
        TType::List => "lst",
        TType::Uuid => "uid",
        other => {
            return Err(protocol_error(
                ProtocolErrorKind::NotImplemented,
                format!("TJSON has no type tag for {other:?}"),
            ))
        }
    })
}

fn type_from_tag(tag: &[u8]) -> Option<TType> {
    Some(match tag {
        b"tf" => TType::Bool,
        b"i8" => TType::I08,
        b"i16" => TType::I16,
        b"i32" => TType::I32,
        b"i64" => TType::I64,
        b"dbl" => TType::Double,
        b"str" => TType::String,
        b"rec" => TType::Struct,
        b"map" => TType::Map,
        b"set" => TType::Set,
        b"lst" => TType::List,
        b"uid" => TType::Uuid,
        _ => return None,
    })
}

fn require_type(tag: &[u8]) -> thrift::Result<TType> {
    type_from_tag(tag).ok_or_else(|| {
        protocol_error(
            ProtocolErrorKind::NotImplemented,
            format!("unknown TJSON type tag {:?}", String::from_utf8_lossy(tag)),
        )
    })
}

/// Formats like Java's `Double.toString`, which is what the scheduler writes: at least one
/// fractional digit, and `E` notation outside [1e-3, 1e7).
fn java_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".to_owned();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let sign = if d.is_sign_negative() { "-" } else { "" };
    if d == 0.0 {
        return format!("{sign}0.0");
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, as Java's algorithm intends.
    let sci = format!("{:e}", d.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-3..7).contains(&exp) {
        let point = exp + 1;
        if point <= 0 {
            format!(
                "{sign}0.{}{digits}",
                "0".repeat(point.unsigned_abs() as usize)
            )
        } else {
            let point = point as usize;
            if point >= digits.len() {
                format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{sign}{}.{}", &digits[..point], &digits[point..])
            }
        }
    } else {
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() { "0" } else { rest };
        format!("{sign}{first}.{rest}E{exp}")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ContextKind {
    /// Top level: values need no separator.
    Base,
    /// Inside `[...]`: values separated by `,`.
    List,
    /// Inside `{...}`: alternating keys and values; keys that are numbers get quoted.
    Pair,
    /// The one-key `{"<tag>": value}` object around a struct field's value. Kept apart from
    /// `Pair` so the reader can tell a field that `skip` left open (it never calls
    /// `read_field_end`) from the struct that contains it.
    Field,
}

/// Java TJSONProtocol's JSON contexts, which decide the separator before each value and whether
/// numbers must be quoted because they are object keys.
#[derive(Clone, Copy, Debug)]
struct Context {
    kind: ContextKind,
    first: bool,
    colon: bool,
}

impl Context {
    fn new(kind: ContextKind) -> Self {
        Context {
            kind,
            first: true,
            colon: true,
        }
    }

    /// Advances past one value and returns the separator that must precede it.
    fn next_separator(&mut self) -> Option<u8> {
        match self.kind {
            ContextKind::Base => None,
            ContextKind::List => {
                if self.first {
                    self.first = false;
                    None
                } else {
                    Some(b',')
                }
            }
            ContextKind::Pair | ContextKind::Field => {
                if self.first {
                    self.first = false;
                    self.colon = true;
                    None
                } else {
                    let sep = if self.colon { b':' } else { b',' };
                    self.colon = !self.colon;
                    Some(sep)
                }
            }
        }
    }

    /// Whether the value just advanced past is an object key (JSON keys must be strings).
    fn escape_num(&self) -> bool {
        matches!(self.kind, ContextKind::Pair | ContextKind::Field) && self.colon
    }
}

/// Writes TJSON to any `Write`, byte for byte as Java's TJSONProtocol would.
pub struct TJsonOutputProtocol<W: Write> {
    writer: W,
    /// Never empty: the base context at index 0 is never popped.
    contexts: Vec<Context>,
}

impl<W: Write> TJsonOutputProtocol<W> {
    pub fn new(writer: W) -> Self {
        TJsonOutputProtocol {
            writer,
            contexts: vec![Context::new(ContextKind::Base)],
        }
    }

    pub fn into_inner(self) -> W {
        self.writer
    }

    fn top(&mut self) -> &mut Context {
        let last = self.contexts.len() - 1;
        &mut self.contexts[last]
    }

    fn push(&mut self, kind: ContextKind) {
        self.contexts.push(Context::new(kind));
    }

    fn pop(&mut self, object: bool) -> thrift::Result<()> {
        let matches = match self.contexts.last().map(|c| c.kind) {
            Some(ContextKind::Pair | ContextKind::Field) => object,
            Some(ContextKind::List) => !object,
            _ => false,
        };
        if !matches || self.contexts.len() < 2 {
            return Err(invalid(format!(
                "unbalanced TJSON write: no open {} to close",
                if object { "object" } else { "array" }
            )));
        }
        self.contexts.pop();
        Ok(())
    }

    fn write_context(&mut self) -> thrift::Result<()> {
        if let Some(sep) = self.top().next_separator() {
            self.writer.write_all(&[sep])?;
        }
        Ok(())
    }

    fn write_json_integer(&mut self, n: i64) -> thrift::Result<()> {
        self.write_context()?;
        if self.top().escape_num() {
            write!(self.writer, "\"{n}\"")?;
        } else {
            write!(self.writer, "{n}")?;
        }
        Ok(())
    }

    fn write_json_double(&mut self, d: f64) -> thrift::Result<()> {
        self.write_context()?;
        let text = java_double(d);
        if !d.is_finite() || self.top().escape_num() {
            write!(self.writer, "\"{text}\"")?;
        } else {
            self.writer.write_all(text.as_bytes())?;
        }
        Ok(())
    }

    fn write_json_string(&mut self, bytes: &[u8]) -> thrift::Result<()> {
        self.write_context()?;
        let mut out = Vec::with_capacity(bytes.len() + 2);
        out.push(b'"');
        for &b in bytes {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'"' => out.extend_from_slice(b"\\\""),
                0x08 => out.extend_from_slice(b"\\b"),
                0x09 => out.extend_from_slice(b"\\t"),
                0x0a => out.extend_from_slice(b"\\n"),
                0x0c => out.extend_from_slice(b"\\f"),
                0x0d => out.extend_from_slice(b"\\r"),
                0x00..=0x1f => {
                    const HEX: &[u8; 16] = b"0123456789abcdef";
                    out.extend_from_slice(b"\\u00");
                    out.push(HEX[usize::from(b >> 4)]);
                    out.push(HEX[usize::from(b & 0xf)]);
                }
                _ => out.push(b),
            }
        }
        out.push(b'"');
        self.writer.write_all(&out)?;
        Ok(())
    }

    fn write_object_start(&mut self) -> thrift::Result<()> {
        self.write_context()?;
        self.writer.write_all(b"{")?;
        self.push(ContextKind::Pair);
        Ok(())
    }

    fn write_object_end(&mut self) -> thrift::Result<()> {
        self.pop(true)?;
        self.writer.write_all(b"}")?;
        Ok(())
    }

    fn write_array_start(&mut self) -> thrift::Result<()> {
        self.write_context()?;
        self.writer.write_all(b"[")?;
        self.push(ContextKind::List);
        Ok(())
    }

    fn write_array_end(&mut self) -> thrift::Result<()> {
        self.pop(false)?;
        self.writer.write_all(b"]")?;
        Ok(())
    }

    fn write_sequence_begin(&mut self, element_type: TType, size: i32) -> thrift::Result<()> {
        self.write_array_start()?;
        self.write_json_string(type_tag(element_type)?.as_bytes())?;
        self.write_json_integer(size.into())
    }
}

impl<W: Write> TOutputProtocol for TJsonOutputProtocol<W> {
    fn write_message_begin(&mut self, identifier: &TMessageIdentifier) -> thrift::Result<()> {
        // Like Java (THRIFT-3743): a message that failed half-way must not poison the next one.
        self.contexts.truncate(1);
        self.contexts[0] = Context::new(ContextKind::Base);
        self.write_array_start()?;
        self.write_json_integer(VERSION)?;
        self.write_json_string(identifier.name.as_bytes())?;
        self.write_json_integer(u8::from(identifier.message_type).into())?;
        self.write_json_integer(identifier.sequence_number.into())
    }

    fn write_message_end(&mut self) -> thrift::Result<()> {
        self.write_array_end()
    }

    fn write_struct_begin(&mut self, _identifier: &TStructIdentifier) -> thrift::Result<()> {
        self.write_object_start()
    }

    fn write_struct_end(&mut self) -> thrift::Result<()> {
        self.write_object_end()
    }

    fn write_field_begin(&mut self, identifier: &TFieldIdentifier) -> thrift::Result<()> {
        let id = identifier
            .id
            .ok_or_else(|| invalid("TJSON cannot write a field without an id"))?;
        let tag = type_tag(identifier.field_type)?;
        self.write_json_integer(id.into())?;
        self.write_object_start()?;
        self.write_json_string(tag.as_bytes())
    }

    fn write_field_end(&mut self) -> thrift::Result<()> {
        self.write_object_end()
    }

    fn write_field_stop(&mut self) -> thrift::Result<()> {
        Ok(())
    }

    fn write_bool(&mut self, b: bool) -> thrift::Result<()> {
        self.write_json_integer(i64::from(b))
    }

    fn write_bytes(&mut self, b: &[u8]) -> thrift::Result<()> {
        let encoded = BASE64.encode(b);
        self.write_json_string(encoded.as_bytes())
    }

    fn write_i8(&mut self, i: i8) -> thrift::Result<()> {
        self.write_json_integer(i.into())
    }

    fn write_i16(&mut self, i: i16) -> thrift::Result<()> {
        self.write_json_integer(i.into())
    }

    fn write_i32(&mut self, i: i32) -> thrift::Result<()> {
        self.write_json_integer(i.into())
    }

    fn write_i64(&mut self, i: i64) -> thrift::Result<()> {
        self.write_json_integer(i)
    }

    fn write_double(&mut self, d: f64) -> thrift::Result<()> {
        self.write_json_double(d)
    }

    fn write_uuid(&mut self, uuid: &uuid::Uuid) -> thrift::Result<()> {
        self.write_json_string(uuid.hyphenated().to_string().as_bytes())
    }

    fn write_string(&mut self, s: &str) -> thrift::Result<()> {
        self.write_json_string(s.as_bytes())
    }

    fn write_list_begin(&mut self, identifier: &TListIdentifier) -> thrift::Result<()> {
        self.write_sequence_begin(identifier.element_type, identifier.size)
    }

    fn write_list_end(&mut self) -> thrift::Result<()> {
        self.write_array_end()
    }

    fn write_set_begin(&mut self, identifier: &TSetIdentifier) -> thrift::Result<()> {
        self.write_sequence_begin(identifier.element_type, identifier.size)
    }

    fn write_set_end(&mut self) -> thrift::Result<()> {
        self.write_array_end()
    }

    fn write_map_begin(&mut self, identifier: &TMapIdentifier) -> thrift::Result<()> {
        // Java's reader rejects unknown tags even for empty maps, so there is nothing safe to
        // invent when the types are missing.
        let (Some(key_type), Some(value_type)) = (identifier.key_type, identifier.value_type)
        else {
            return Err(invalid(
                "TJSON cannot write a map without key and value types",
            ));
        };
        self.write_array_start()?;
        self.write_json_string(type_tag(key_type)?.as_bytes())?;
        self.write_json_string(type_tag(value_type)?.as_bytes())?;
        self.write_json_integer(identifier.size.into())?;
        self.write_object_start()
    }

    fn write_map_end(&mut self) -> thrift::Result<()> {
        self.write_object_end()?;
        self.write_array_end()
    }

    fn flush(&mut self) -> thrift::Result<()> {
        self.writer.flush().map_err(From::from)
    }

    fn write_byte(&mut self, b: u8) -> thrift::Result<()> {
        self.write_i8(b as i8)
    }
}

/// Reads TJSON from an in-memory buffer (request and response bodies arrive whole over HTTP).
///
/// Whitespace between tokens is tolerated. Every declared count is checked against the
/// configuration and against the bytes left before anything is sized from it.
pub struct TJsonInputProtocol<'a> {
    input: &'a [u8],
    pos: usize,
    config: TConfiguration,
    /// Never empty: the base context at index 0 is never popped.
    contexts: Vec<Context>,
    /// Open structs and containers, bounded by `max_recursion_depth`.
    depth: usize,
}

impl<'a> TJsonInputProtocol<'a> {
    pub fn new(bytes: &'a [u8], config: TConfiguration) -> Self {
        TJsonInputProtocol {
            input: bytes,
            pos: 0,
            config,
            contexts: vec![Context::new(ContextKind::Base)],
            depth: 0,
        }
    }

    /// The bytes not consumed yet, e.g. to check that nothing but whitespace follows a message.
    pub fn remaining(&self) -> &'a [u8] {
        &self.input[self.pos.min(self.input.len())..]
    }

    fn eof(&self) -> thrift::Error {
        thrift::Error::Transport(TransportError::new(
            TransportErrorKind::EndOfFile,
            format!("TJSON input ends early at byte {}", self.pos),
        ))
    }

    fn unexpected(&self, expected: &str) -> thrift::Error {
        match self.input.get(self.pos) {
            None => self.eof(),
            Some(&b) => invalid(format!(
                "TJSON: expected {expected} at byte {} but found {:?}",
                self.pos,
                char::from(b)
            )),
        }
    }

    fn top(&mut self) -> &mut Context {
        let last = self.contexts.len() - 1;
        &mut self.contexts[last]
    }

    fn top_kind(&self) -> ContextKind {
        self.contexts
            .last()
            .map_or(ContextKind::Base, |context| context.kind)
    }

    fn pop(&mut self, object: bool) -> thrift::Result<()> {
        let matches = match self.top_kind() {
            ContextKind::Pair | ContextKind::Field => object,
            ContextKind::List => !object,
            ContextKind::Base => false,
        };
        if !matches || self.contexts.len() < 2 {
            return Err(invalid(format!(
                "unbalanced TJSON read: no open {} to close",
                if object { "object" } else { "array" }
            )));
        }
        self.contexts.pop();
        Ok(())
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.input.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.input.get(self.pos).copied()
    }

    /// Consumes `ch` exactly where the cursor is; no whitespace allowed (inside quotes).
    fn expect_raw(&mut self, ch: u8) -> thrift::Result<()> {
        if self.input.get(self.pos) == Some(&ch) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("{:?}", char::from(ch))))
        }
    }

    fn expect(&mut self, ch: u8) -> thrift::Result<()> {
        self.skip_whitespace();
        self.expect_raw(ch)
    }

    fn next_raw(&mut self) -> thrift::Result<u8> {
        let b = *self.input.get(self.pos).ok_or_else(|| self.eof())?;
        self.pos += 1;
        Ok(b)
    }

    fn read_context(&mut self) -> thrift::Result<()> {
        if let Some(sep) = self.top().next_separator() {
            self.expect(sep)?;
        }
        Ok(())
    }

    fn numeric_chars(&mut self) -> thrift::Result<&'a str> {
        let start = self.pos;
        while let Some(b'+' | b'-' | b'.' | b'0'..=b'9' | b'e' | b'E') = self.input.get(self.pos) {
            self.pos += 1;
        }
        if start == self.pos {
            return Err(self.unexpected("a number"));
        }
        // Only ASCII was accepted above, so this cannot fail.
        std::str::from_utf8(&self.input[start..self.pos]).map_err(|e| invalid(e.to_string()))
    }

    fn parse_integer(&self, text: &str) -> thrift::Result<i64> {
        text.parse()
            .map_err(|_| invalid(format!("TJSON: {text:?} is not a 64-bit integer")))
    }

    fn read_json_integer(&mut self) -> thrift::Result<i64> {
        self.read_context()?;
        if self.top().escape_num() {
            self.expect(b'"')?;
            let text = self.numeric_chars()?;
            self.expect_raw(b'"')?;
            self.parse_integer(text)
        } else {
            self.skip_whitespace();
            let text = self.numeric_chars()?;
            self.parse_integer(text)
        }
    }

    fn read_ranged<T: TryFrom<i64>>(&mut self, name: &str) -> thrift::Result<T> {
        let n = self.read_json_integer()?;
        T::try_from(n).map_err(|_| invalid(format!("TJSON: {n} is out of range for {name}")))
    }

    fn parse_double(text: &str) -> thrift::Result<f64> {
        let valid = !text.is_empty()
            && text
                .bytes()
                .all(|b| matches!(b, b'+' | b'-' | b'.' | b'0'..=b'9' | b'e' | b'E'));
        let parsed = if valid { text.parse().ok() } else { None };
        parsed.ok_or_else(|| invalid(format!("TJSON: {text:?} is not a number")))
    }

    fn read_json_double(&mut self) -> thrift::Result<f64> {
        self.read_context()?;
        if self.peek() == Some(b'"') {
            let bytes = self.read_json_string_bytes(true)?;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| invalid("TJSON: quoted number is not valid UTF-8"))?;
            let d = match text {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                _ => Self::parse_double(text)?,
            };
            if d.is_finite() && !self.top().escape_num() {
                return Err(invalid("TJSON: numeric data unexpectedly quoted"));
            }
            Ok(d)
        } else {
            if self.top().escape_num() {
                return Err(self.unexpected("a quoted number (object key)"));
            }
            let text = self.numeric_chars()?;
            Self::parse_double(text)
        }
    }

    fn read_hex4(&mut self) -> thrift::Result<u16> {
        let mut value = 0u16;
        for _ in 0..4 {
            let digit = match self.next_raw()? {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                b @ b'A'..=b'F' => b - b'A' + 10,
                b => {
                    return Err(invalid(format!(
                        "TJSON: {:?} is not a hex digit in a \\u escape",
                        char::from(b)
                    )))
                }
            };
            value = (value << 4) | u16::from(digit);
        }
        Ok(value)
    }

    fn read_unicode_escape(&mut self) -> thrift::Result<char> {
        let unit = self.read_hex4()?;
        let code = match unit {
            0xd800..=0xdbff => {
                if self.next_raw()? != b'\\' || self.next_raw()? != b'u' {
                    return Err(invalid("TJSON: high surrogate not followed by \\u escape"));
                }
                let low = self.read_hex4()?;
                if !(0xdc00..=0xdfff).contains(&low) {
                    return Err(invalid("TJSON: expected a low surrogate"));
                }
                0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00)
            }
            0xdc00..=0xdfff => return Err(invalid("TJSON: low surrogate without high surrogate")),
            _ => u32::from(unit),
        };
        char::from_u32(code).ok_or_else(|| invalid("TJSON: invalid \\u escape"))
    }

    /// The unescaped bytes of a JSON string, not yet checked to be UTF-8 (base64 never needs it).
    fn read_json_string_bytes(&mut self, skip_context: bool) -> thrift::Result<Vec<u8>> {
        if !skip_context {
            self.read_context()?;
        }
        self.expect(b'"')?;
        let limit = self.config.max_string_size();
        let mut out = Vec::new();
        loop {
            let rest = &self.input[self.pos..];
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\')
                .unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.pos += run;
            match self.next_raw()? {
                b'"' => break,
                _ => {
                    let escaped = match self.next_raw()? {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 0x08,
                        b'f' => 0x0c,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            let c = self.read_unicode_escape()?;
                            out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                            continue;
                        }
                        b => {
                            return Err(invalid(format!(
                                "TJSON: invalid escape \\{} in string",
                                char::from(b)
                            )))
                        }
                    };
                    out.push(escaped);
                }
            }
            if limit.is_some_and(|max| out.len() > max) {
                break;
            }
        }
        if let Some(max) = limit {
            if out.len() > max {
                return Err(protocol_error(
                    ProtocolErrorKind::SizeLimit,
                    format!("TJSON string exceeds maximum allowed size of {max}"),
                ));
            }
        }
        Ok(out)
    }

    fn read_json_string(&mut self) -> thrift::Result<String> {
        let bytes = self.read_json_string_bytes(false)?;
        String::from_utf8(bytes).map_err(|_| invalid("TJSON: string is not valid UTF-8"))
    }

    fn read_object_start(&mut self, kind: ContextKind) -> thrift::Result<()> {
        self.read_context()?;
        self.expect(b'{')?;
        self.contexts.push(Context::new(kind));
        Ok(())
    }

    fn read_object_end(&mut self) -> thrift::Result<()> {
        self.pop(true)?;
        self.expect(b'}')
    }

    fn read_array_start(&mut self) -> thrift::Result<()> {
        self.read_context()?;
        self.expect(b'[')?;
        self.contexts.push(Context::new(ContextKind::List));
        Ok(())
    }

    fn read_array_end(&mut self) -> thrift::Result<()> {
        self.pop(false)?;
        self.expect(b']')
    }

    fn enter(&mut self) -> thrift::Result<()> {
        if let Some(limit) = self.config.max_recursion_depth() {
            if self.depth >= limit {
                return Err(protocol_error(
                    ProtocolErrorKind::DepthLimit,
                    format!("Maximum recursion depth {limit} exceeded"),
                ));
            }
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// The crate's `check_container_size` is private, so its checks are repeated here, plus one
    /// it cannot make: the elements must fit in what is left of the buffer.
    fn check_count(&self, count: i64, element_size: usize) -> thrift::Result<i32> {
        if count < 0 {
            return Err(protocol_error(
                ProtocolErrorKind::NegativeSize,
                format!("Negative container size: {count}"),
            ));
        }
        let size = i32::try_from(count).map_err(|_| {
            protocol_error(
                ProtocolErrorKind::SizeLimit,
                format!("Container size {count} does not fit in i32"),
            )
        })?;
        let count = size as usize;
        if let Some(max) = self.config.max_container_size() {
            if count > max {
                return Err(protocol_error(
                    ProtocolErrorKind::SizeLimit,
                    format!("Container size {count} exceeds maximum allowed size of {max}"),
                ));
            }
        }
        let needed = count.saturating_mul(element_size.max(1));
        if let Some(max) = self.config.max_message_size() {
            if needed > max {
                return Err(protocol_error(
                    ProtocolErrorKind::SizeLimit,
                    format!(
                        "Container would require {needed} bytes, exceeding message size limit of {max}"
                    ),
                ));
            }
        }
        let left = self.input.len().saturating_sub(self.pos);
        if needed > left {
            return Err(protocol_error(
                ProtocolErrorKind::SizeLimit,
                format!(
                    "Container declares {count} elements but only {left} bytes of input remain"
                ),
            ));
        }
        Ok(size)
    }

    fn read_sequence_begin(&mut self) -> thrift::Result<(TType, i32)> {
        self.enter()?;
        self.read_array_start()?;
        let tag = self.read_json_string_bytes(false)?;
        let element_type = require_type(&tag)?;
        let count = self.read_json_integer()?;
        let size = self.check_count(count, self.min_serialized_size(element_type))?;
        Ok((element_type, size))
    }

    fn read_sequence_end(&mut self) -> thrift::Result<()> {
        self.read_array_end()?;
        self.leave();
        Ok(())
    }

    /// Closes the previous field's `{"<tag>": value}` wrapper if the caller never called
    /// `read_field_end` for it, which the trait's default `skip` does not.
    fn close_open_field(&mut self) -> thrift::Result<()> {
        if self.top_kind() == ContextKind::Field {
            self.read_object_end()?;
        }
        Ok(())
    }
}

impl TInputProtocol for TJsonInputProtocol<'_> {
    fn read_message_begin(&mut self) -> thrift::Result<TMessageIdentifier> {
        self.contexts.truncate(1);
        self.contexts[0] = Context::new(ContextKind::Base);
        self.depth = 0;
        self.read_array_start()?;
        let version = self.read_json_integer()?;
        if version != VERSION {
            return Err(protocol_error(
                ProtocolErrorKind::BadVersion,
                format!("TJSON message has version {version}, expected {VERSION}"),
            ));
        }
        let name = self.read_json_string()?;
        let message_type = self.read_ranged::<u8>("a message type")?;
        let message_type = TMessageType::try_from(message_type)?;
        let sequence_number = self.read_ranged::<i32>("i32")?;
        Ok(TMessageIdentifier::new(name, message_type, sequence_number))
    }

    fn read_message_end(&mut self) -> thrift::Result<()> {
        self.read_array_end()
    }

    fn read_struct_begin(&mut self) -> thrift::Result<Option<TStructIdentifier>> {
        self.enter()?;
        self.read_object_start(ContextKind::Pair)?;
        Ok(None)
    }

    fn read_struct_end(&mut self) -> thrift::Result<()> {
        self.close_open_field()?;
        self.read_object_end()?;
        self.leave();
        Ok(())
    }

    fn read_field_begin(&mut self) -> thrift::Result<TFieldIdentifier> {
        self.close_open_field()?;
        if self.top_kind() != ContextKind::Pair {
            return Err(invalid("TJSON: read_field_begin outside a struct"));
        }
        if self.peek() == Some(b'}') {
            return Ok(
                TFieldIdentifier::new::<Option<String>, String, Option<i16>>(
                    None,
                    TType::Stop,
                    None,
                ),
            );
        }
        let id = self.read_ranged::<i16>("a field id")?;
        self.read_object_start(ContextKind::Field)?;
        let tag = self.read_json_string_bytes(false)?;
        let field_type = require_type(&tag)?;
        Ok(TFieldIdentifier::new::<Option<String>, String, i16>(
            None, field_type, id,
        ))
    }

    fn read_field_end(&mut self) -> thrift::Result<()> {
        self.close_open_field()
    }

    fn read_bool(&mut self) -> thrift::Result<bool> {
        self.read_context()?;
        let quoted = self.top().escape_num();
        if quoted {
            self.expect(b'"')?;
        } else {
            self.skip_whitespace();
        }
        let rest = &self.input[self.pos..];
        let value = if rest.starts_with(b"true") {
            self.pos += 4;
            true
        } else if rest.starts_with(b"false") {
            self.pos += 5;
            false
        } else {
            let text = self.numeric_chars()?;
            self.parse_integer(text)? != 0
        };
        if quoted {
            self.expect_raw(b'"')?;
        }
        Ok(value)
    }

    fn read_bytes(&mut self) -> thrift::Result<Vec<u8>> {
        let encoded = self.read_json_string_bytes(false)?;
        BASE64
            .decode(&encoded)
            .map_err(|e| invalid(format!("TJSON: invalid base64 in binary field: {e}")))
    }

    fn skip_binary(&mut self) -> thrift::Result<()> {
        // The default decodes base64, which fails on ordinary strings (same type on the wire).
        self.read_json_string_bytes(false).map(|_| ())
    }

    fn read_i8(&mut self) -> thrift::Result<i8> {
        self.read_ranged("i8")
    }

    fn read_i16(&mut self) -> thrift::Result<i16> {
        self.read_ranged("i16")
    }

    fn read_i32(&mut self) -> thrift::Result<i32> {
        self.read_ranged("i32")
    }

    fn read_i64(&mut self) -> thrift::Result<i64> {
        self.read_json_integer()
    }

    fn read_double(&mut self) -> thrift::Result<f64> {
        self.read_json_double()
    }

    fn read_uuid(&mut self) -> thrift::Result<uuid::Uuid> {
        let text = self.read_json_string()?;
        uuid::Uuid::parse_str(&text).map_err(|e| invalid(format!("TJSON: bad uuid: {e}")))
    }

    fn read_string(&mut self) -> thrift::Result<String> {
        self.read_json_string()
    }

    fn read_list_begin(&mut self) -> thrift::Result<TListIdentifier> {
        let (element_type, size) = self.read_sequence_begin()?;
        Ok(TListIdentifier::new(element_type, size))
    }

    fn read_list_end(&mut self) -> thrift::Result<()> {
        self.read_sequence_end()
    }

    fn read_set_begin(&mut self) -> thrift::Result<TSetIdentifier> {
        let (element_type, size) = self.read_sequence_begin()?;
        Ok(TSetIdentifier::new(element_type, size))
    }

    fn read_set_end(&mut self) -> thrift::Result<()> {
        self.read_sequence_end()
    }

    fn read_map_begin(&mut self) -> thrift::Result<TMapIdentifier> {
        self.enter()?;
        self.read_array_start()?;
        let key_tag = self.read_json_string_bytes(false)?;
        let value_tag = self.read_json_string_bytes(false)?;
        let count = self.read_json_integer()?;
        let (key_type, value_type) = if count == 0 {
            (type_from_tag(&key_tag), type_from_tag(&value_tag))
        } else {
            (
                Some(require_type(&key_tag)?),
                Some(require_type(&value_tag)?),
            )
        };
        let entry_size = key_type.map_or(1, |t| self.min_serialized_size(t))
            + value_type.map_or(1, |t| self.min_serialized_size(t));
        let size = self.check_count(count, entry_size)?;
        self.read_object_start(ContextKind::Pair)?;
        Ok(TMapIdentifier::new(key_type, value_type, size))
    }

    fn read_map_end(&mut self) -> thrift::Result<()> {
        self.read_object_end()?;
        self.read_array_end()?;
        self.leave();
        Ok(())
    }

    fn read_byte(&mut self) -> thrift::Result<u8> {
        self.read_i8().map(|b| b as u8)
    }

    fn min_serialized_size(&self, field_type: TType) -> usize {
        match field_type {
            TType::String => 2,            // ""
            TType::Struct => 2,            // {}
            TType::List | TType::Set => 8, // ["tf",0]
            TType::Map => 16,              // ["tf","tf",0,{}]
            TType::Uuid => 38,             // quoted 36-character form
            _ => 1,                        // a single digit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn out() -> TJsonOutputProtocol<Vec<u8>> {
        TJsonOutputProtocol::new(Vec::new())
    }

    fn text(o: TJsonOutputProtocol<Vec<u8>>) -> String {
        String::from_utf8(o.into_inner()).unwrap()
    }

    fn input(bytes: &[u8]) -> TJsonInputProtocol<'_> {
        TJsonInputProtocol::new(bytes, TConfiguration::default())
    }

    fn field(o: &mut dyn TOutputProtocol, ttype: TType, id: i16) {
        o.write_field_begin(&TFieldIdentifier::new("f", ttype, id))
            .unwrap();
    }

    fn expect_field(i: &mut dyn TInputProtocol, ttype: TType, id: i16) {
        let f = i.read_field_begin().unwrap();
        assert_eq!((f.field_type, f.id), (ttype, Some(id)));
    }

    fn expect_stop(i: &mut dyn TInputProtocol) {
        assert_eq!(i.read_field_begin().unwrap().field_type, TType::Stop);
    }

    fn message(o: &mut dyn TOutputProtocol, name: &str, t: TMessageType, seq: i32) {
        o.write_message_begin(&TMessageIdentifier::new(name, t, seq))
            .unwrap();
    }

    /// Reads a message header and skips its struct the way a server skips unknown content.
    fn skip_message(bytes: &[u8], config: TConfiguration) -> thrift::Result<TMessageIdentifier> {
        let mut i = TJsonInputProtocol::new(bytes, config);
        let id = i.read_message_begin()?;
        i.skip(TType::Struct)?;
        i.read_message_end()?;
        Ok(id)
    }

    fn protocol_kind(err: thrift::Error) -> ProtocolErrorKind {
        match err {
            thrift::Error::Protocol(p) => p.kind,
            other => panic!("expected a protocol error, got {other:?}"),
        }
    }

    fn write_role_summary() -> String {
        let mut o = out();
        message(&mut o, "getRoleSummary", TMessageType::Call, 0);
        o.write_struct_begin(&TStructIdentifier::new("args"))
            .unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_message_end().unwrap();
        text(o)
    }

    fn write_kill_tasks_call() -> String {
        let mut o = out();
        message(&mut o, "killTasks", TMessageType::Call, 7);
        o.write_struct_begin(&TStructIdentifier::new("killTasks_args"))
            .unwrap();
        field(&mut o, TType::Struct, 4);
        o.write_struct_begin(&TStructIdentifier::new("JobKey"))
            .unwrap();
        for (id, s) in [(1, "www-data"), (2, "prod"), (3, "hello")] {
            field(&mut o, TType::String, id);
            o.write_string(s).unwrap();
            o.write_field_end().unwrap();
        }
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::Set, 5);
        o.write_set_begin(&TSetIdentifier::new(TType::I32, 2))
            .unwrap();
        o.write_i32(0).unwrap();
        o.write_i32(1).unwrap();
        o.write_set_end().unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::String, 6);
        o.write_string("bye").unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_message_end().unwrap();
        text(o)
    }

    fn write_kill_tasks_reply() -> String {
        let mut o = out();
        message(&mut o, "killTasks", TMessageType::Reply, 7);
        o.write_struct_begin(&TStructIdentifier::new("result"))
            .unwrap();
        field(&mut o, TType::Struct, 0);
        o.write_struct_begin(&TStructIdentifier::new("Response"))
            .unwrap();
        field(&mut o, TType::I32, 1);
        o.write_i32(1).unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::Struct, 5);
        o.write_struct_begin(&TStructIdentifier::new("ServerInfo"))
            .unwrap();
        field(&mut o, TType::String, 1);
        o.write_string("devcluster").unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::String, 3);
        o.write_string("").unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::List, 6);
        o.write_list_begin(&TListIdentifier::new(TType::Struct, 0))
            .unwrap();
        o.write_list_end().unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_message_end().unwrap();
        text(o)
    }

    const ROLE_SUMMARY: &str = r#"[1,"getRoleSummary",1,0,{}]"#;
    const KILL_TASKS_CALL: &str = r#"[1,"killTasks",1,7,{"4":{"rec":{"1":{"str":"www-data"},"2":{"str":"prod"},"3":{"str":"hello"}}},"5":{"set":["i32",2,0,1]},"6":{"str":"bye"}}]"#;
    const KILL_TASKS_REPLY: &str = r#"[1,"killTasks",2,7,{"0":{"rec":{"1":{"i32":1},"5":{"rec":{"1":{"str":"devcluster"},"3":{"str":""}}},"6":{"lst":["rec",0]}}}}]"#;

    #[test]
    fn writes_aurora_examples_byte_for_byte() {
        assert_eq!(write_role_summary(), ROLE_SUMMARY);
        assert_eq!(write_kill_tasks_call(), KILL_TASKS_CALL);
        assert_eq!(write_kill_tasks_reply(), KILL_TASKS_REPLY);
    }

    #[test]
    fn reads_get_role_summary() {
        let mut i = input(ROLE_SUMMARY.as_bytes());
        let id = i.read_message_begin().unwrap();
        assert_eq!(
            id,
            TMessageIdentifier::new("getRoleSummary", TMessageType::Call, 0)
        );
        assert_eq!(i.read_struct_begin().unwrap(), None);
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_message_end().unwrap();
        assert!(i.remaining().is_empty());
    }

    #[test]
    fn reads_kill_tasks_call() {
        let mut i = input(KILL_TASKS_CALL.as_bytes());
        let id = i.read_message_begin().unwrap();
        assert_eq!(
            id,
            TMessageIdentifier::new("killTasks", TMessageType::Call, 7)
        );
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::Struct, 4);
        i.read_struct_begin().unwrap();
        for (id, s) in [(1, "www-data"), (2, "prod"), (3, "hello")] {
            expect_field(&mut i, TType::String, id);
            assert_eq!(i.read_string().unwrap(), s);
            i.read_field_end().unwrap();
        }
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::Set, 5);
        let set = i.read_set_begin().unwrap();
        assert_eq!(set, TSetIdentifier::new(TType::I32, 2));
        assert_eq!(i.read_i32().unwrap(), 0);
        assert_eq!(i.read_i32().unwrap(), 1);
        i.read_set_end().unwrap();
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::String, 6);
        assert_eq!(i.read_string().unwrap(), "bye");
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_message_end().unwrap();
        assert!(i.remaining().is_empty());
    }

    #[test]
    fn reads_kill_tasks_reply() {
        let mut i = input(KILL_TASKS_REPLY.as_bytes());
        let id = i.read_message_begin().unwrap();
        assert_eq!(
            id,
            TMessageIdentifier::new("killTasks", TMessageType::Reply, 7)
        );
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::Struct, 0);
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::I32, 1);
        assert_eq!(i.read_i32().unwrap(), 1);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::Struct, 5);
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::String, 1);
        assert_eq!(i.read_string().unwrap(), "devcluster");
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::String, 3);
        assert_eq!(i.read_string().unwrap(), "");
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::List, 6);
        let list = i.read_list_begin().unwrap();
        assert_eq!(list, TListIdentifier::new(TType::Struct, 0));
        i.read_list_end().unwrap();
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_message_end().unwrap();
    }

    #[test]
    fn skips_aurora_examples_without_read_field_end() {
        for example in [ROLE_SUMMARY, KILL_TASKS_CALL, KILL_TASKS_REPLY] {
            skip_message(example.as_bytes(), TConfiguration::default()).unwrap();
        }
    }

    #[test]
    fn tolerates_whitespace_between_tokens() {
        let pretty = r#" [ 1 , "killTasks" , 1 , 7 ,
            { "4" : { "rec" : { "1" : { "str" : "www-data" } , "2" : {"str":"prod"},
              "3":{"str":"hello"} } } ,
              "5" : { "set" : [ "i32" , 2 , 0 , 1 ] } , "6" : { "str" : "bye" } } ] "#;
        let id = skip_message(pretty.as_bytes(), TConfiguration::default()).unwrap();
        assert_eq!(id.name, "killTasks");
    }

    /// A struct with one field of every primitive type, in field-id order.
    fn write_primitives(o: &mut dyn TOutputProtocol) {
        o.write_struct_begin(&TStructIdentifier::new("P")).unwrap();
        field(o, TType::Bool, 1);
        o.write_bool(true).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::Bool, 2);
        o.write_bool(false).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::I08, 3);
        o.write_i8(i8::MIN).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::I16, 4);
        o.write_i16(i16::MAX).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::I32, 5);
        o.write_i32(i32::MIN).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::I64, 6);
        o.write_i64(i64::MAX).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::Double, 7);
        o.write_double(-1.5e-7).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::String, 8);
        o.write_string("héllo \"wörld\"\n").unwrap();
        o.write_field_end().unwrap();
        field(o, TType::String, 9);
        o.write_bytes(&[0, 1, 2, 0xfe, 0xff]).unwrap();
        o.write_field_end().unwrap();
        field(o, TType::Uuid, 10);
        o.write_uuid(&uuid::Uuid::from_u128(
            0x0123_4567_89ab_cdef_0123_4567_89ab_cdef,
        ))
        .unwrap();
        o.write_field_end().unwrap();
        field(o, TType::I16, -1);
        o.write_i16(-2).unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
    }

    #[test]
    fn round_trips_every_primitive() {
        let mut o = out();
        write_primitives(&mut o);
        let bytes = o.into_inner();
        let mut i = input(&bytes);
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::Bool, 1);
        assert!(i.read_bool().unwrap());
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::Bool, 2);
        assert!(!i.read_bool().unwrap());
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I08, 3);
        assert_eq!(i.read_i8().unwrap(), i8::MIN);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I16, 4);
        assert_eq!(i.read_i16().unwrap(), i16::MAX);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I32, 5);
        assert_eq!(i.read_i32().unwrap(), i32::MIN);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I64, 6);
        assert_eq!(i.read_i64().unwrap(), i64::MAX);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::Double, 7);
        assert_eq!(i.read_double().unwrap(), -1.5e-7);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::String, 8);
        assert_eq!(i.read_string().unwrap(), "héllo \"wörld\"\n");
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::String, 9);
        assert_eq!(i.read_bytes().unwrap(), vec![0, 1, 2, 0xfe, 0xff]);
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::Uuid, 10);
        assert_eq!(
            i.read_uuid().unwrap(),
            uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef)
        );
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I16, -1);
        assert_eq!(i.read_i16().unwrap(), -2);
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        assert!(i.remaining().is_empty());
    }

    /// map<i32,list<set<string>>>, map<bool,double>, map<double,string>, map<string,struct>,
    /// and the empty versions of each container.
    fn write_containers(o: &mut dyn TOutputProtocol) {
        o.write_struct_begin(&TStructIdentifier::new("C")).unwrap();
        field(o, TType::Map, 1);
        o.write_map_begin(&TMapIdentifier::new(TType::I32, TType::List, 2))
            .unwrap();
        for key in [-1, 7] {
            o.write_i32(key).unwrap();
            o.write_list_begin(&TListIdentifier::new(TType::Set, 2))
                .unwrap();
            for n in 0..2 {
                o.write_set_begin(&TSetIdentifier::new(TType::String, n))
                    .unwrap();
                for s in 0..n {
                    o.write_string(&format!("s{s}")).unwrap();
                }
                o.write_set_end().unwrap();
            }
            o.write_list_end().unwrap();
        }
        o.write_map_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::Map, 2);
        o.write_map_begin(&TMapIdentifier::new(TType::Bool, TType::Double, 2))
            .unwrap();
        o.write_bool(true).unwrap();
        o.write_double(f64::NAN).unwrap();
        o.write_bool(false).unwrap();
        o.write_double(f64::NEG_INFINITY).unwrap();
        o.write_map_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::Map, 3);
        o.write_map_begin(&TMapIdentifier::new(TType::Double, TType::String, 2))
            .unwrap();
        o.write_double(0.25).unwrap();
        o.write_string("quarter").unwrap();
        o.write_double(f64::INFINITY).unwrap();
        o.write_string("inf").unwrap();
        o.write_map_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::Map, 4);
        o.write_map_begin(&TMapIdentifier::new(TType::String, TType::Struct, 1))
            .unwrap();
        o.write_string("k").unwrap();
        o.write_struct_begin(&TStructIdentifier::new("V")).unwrap();
        field(o, TType::I64, 1);
        o.write_i64(-42).unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_map_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::Map, 5);
        o.write_map_begin(&TMapIdentifier::new(TType::String, TType::I32, 0))
            .unwrap();
        o.write_map_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::List, 6);
        o.write_list_begin(&TListIdentifier::new(TType::Struct, 0))
            .unwrap();
        o.write_list_end().unwrap();
        o.write_field_end().unwrap();

        field(o, TType::Struct, 7);
        o.write_struct_begin(&TStructIdentifier::new("E")).unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_field_end().unwrap();

        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
    }

    #[test]
    fn round_trips_nested_and_empty_containers() {
        let mut o = out();
        write_containers(&mut o);
        let bytes = o.into_inner();
        let mut i = input(&bytes);
        i.read_struct_begin().unwrap();

        expect_field(&mut i, TType::Map, 1);
        let map = i.read_map_begin().unwrap();
        assert_eq!(map, TMapIdentifier::new(TType::I32, TType::List, 2));
        for key in [-1, 7] {
            assert_eq!(i.read_i32().unwrap(), key);
            let list = i.read_list_begin().unwrap();
            assert_eq!(list, TListIdentifier::new(TType::Set, 2));
            for n in 0..2 {
                let set = i.read_set_begin().unwrap();
                assert_eq!(set, TSetIdentifier::new(TType::String, n));
                for s in 0..n {
                    assert_eq!(i.read_string().unwrap(), format!("s{s}"));
                }
                i.read_set_end().unwrap();
            }
            i.read_list_end().unwrap();
        }
        i.read_map_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::Map, 2);
        assert_eq!(i.read_map_begin().unwrap().size, 2);
        assert!(i.read_bool().unwrap());
        assert!(i.read_double().unwrap().is_nan());
        assert!(!i.read_bool().unwrap());
        assert_eq!(i.read_double().unwrap(), f64::NEG_INFINITY);
        i.read_map_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::Map, 3);
        assert_eq!(i.read_map_begin().unwrap().size, 2);
        assert_eq!(i.read_double().unwrap(), 0.25);
        assert_eq!(i.read_string().unwrap(), "quarter");
        assert_eq!(i.read_double().unwrap(), f64::INFINITY);
        assert_eq!(i.read_string().unwrap(), "inf");
        i.read_map_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::Map, 4);
        assert_eq!(i.read_map_begin().unwrap().size, 1);
        assert_eq!(i.read_string().unwrap(), "k");
        i.read_struct_begin().unwrap();
        expect_field(&mut i, TType::I64, 1);
        assert_eq!(i.read_i64().unwrap(), -42);
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_map_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::Map, 5);
        let map = i.read_map_begin().unwrap();
        assert_eq!(map, TMapIdentifier::new(TType::String, TType::I32, 0));
        i.read_map_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::List, 6);
        assert_eq!(i.read_list_begin().unwrap().size, 0);
        i.read_list_end().unwrap();
        i.read_field_end().unwrap();

        expect_field(&mut i, TType::Struct, 7);
        i.read_struct_begin().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        i.read_field_end().unwrap();

        expect_stop(&mut i);
        i.read_struct_end().unwrap();
        assert!(i.remaining().is_empty());
    }

    #[test]
    fn skips_every_type() {
        for write in [write_primitives, write_containers] {
            let mut o = out();
            message(&mut o, "m", TMessageType::Reply, 1);
            write(&mut o);
            o.write_message_end().unwrap();
            let bytes = o.into_inner();
            skip_message(&bytes, TConfiguration::default()).unwrap();
        }
    }

    #[test]
    fn skipped_field_then_known_field() {
        // What generated code does for an unknown field: skip, then read_field_end.
        let json = br#"{"9":{"map":["str","lst",1,{"a":["i32",2,1,2]}]},"1":{"i32":5}}"#;
        let mut i = input(json);
        i.read_struct_begin().unwrap();
        let f = i.read_field_begin().unwrap();
        i.skip(f.field_type).unwrap();
        i.read_field_end().unwrap();
        expect_field(&mut i, TType::I32, 1);
        assert_eq!(i.read_i32().unwrap(), 5);
        i.read_field_end().unwrap();
        expect_stop(&mut i);
        i.read_struct_end().unwrap();
    }

    #[test]
    fn writes_escapes_like_java() {
        let mut o = out();
        o.write_string("q\"b\\s/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é😀")
            .unwrap();
        assert_eq!(
            text(o),
            "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}é😀\""
        );
    }

    #[test]
    fn reads_all_json_escapes() {
        let json = r#""\"\\\/\b\f\n\r\t\u0041\u00e9\u20AC\ud83d\ude00 raw é""#;
        assert_eq!(
            input(json.as_bytes()).read_string().unwrap(),
            "\"\\/\u{8}\u{c}\n\r\tAé€😀 raw é"
        );
    }

    #[test]
    fn round_trips_escape_heavy_and_unicode_strings() {
        let samples = [
            "",
            "plain",
            "\u{0}\u{1}\u{2}\u{1e}\u{1f} \"\\/",
            "日本語テキスト",
            "emoji 😀🎉 and 𝄞",
            "\\u0041 is not unescaped twice",
        ];
        for s in samples {
            let mut o = out();
            o.write_string(s).unwrap();
            let bytes = o.into_inner();
            assert_eq!(input(&bytes).read_string().unwrap(), s);
        }
    }

    #[test]
    fn rejects_bad_strings() {
        for bad in [
            &br#""\ud83d""#[..],
            br#""\ude00""#,
            br#""\ud83d\u0041""#,
            br#""\x""#,
            br#""\u12g4""#,
            b"\"\xff\xfe\"",
            b"\"\xc3\"",
            b"\"unterminated",
            br#""\"#,
            b"42",
        ] {
            assert!(input(bad).read_string().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_doubles_like_java() {
        let cases: [(f64, &str); 16] = [
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (123456.789, "123456.789"),
            (9999999.0, "9999999.0"),
            (1e7, "1.0E7"),
            (1.234e-5, "1.234E-5"),
            (1e100, "1.0E100"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::NAN, "\"NaN\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ];
        for (d, expected) in cases {
            let mut o = out();
            o.write_double(d).unwrap();
            assert_eq!(text(o), expected, "{d}");
        }
    }

    #[test]
    fn round_trips_doubles_bit_for_bit() {
        let samples = [
            0.0,
            -0.0,
            1.0,
            0.1,
            1.0 / 3.0,
            -1e-300,
            f64::MIN_POSITIVE,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            6.02214076e23,
        ];
        for d in samples {
            let mut o = out();
            o.write_double(d).unwrap();
            let bytes = o.into_inner();
            assert_eq!(input(&bytes).read_double().unwrap().to_bits(), d.to_bits());
        }
        assert!(input(b"\"NaN\"").read_double().unwrap().is_nan());
    }

    #[test]
    fn rejects_quoted_finite_double_outside_keys() {
        let err = input(b"\"1.5\"").read_double().unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::InvalidData);
    }

    #[test]
    fn binary_is_unpadded_base64_and_accepts_padding() {
        let mut o = out();
        o.write_bytes(&[0, 1, 2, 0xfe, 0xff]).unwrap();
        assert_eq!(text(o), "\"AAEC/v8\"");
        assert_eq!(
            input(b"\"AAEC/v8=\"").read_bytes().unwrap(),
            [0, 1, 2, 0xfe, 0xff]
        );
        assert_eq!(
            input(b"\"AAEC/v8\"").read_bytes().unwrap(),
            [0, 1, 2, 0xfe, 0xff]
        );
        assert_eq!(input(b"\"\"").read_bytes().unwrap(), Vec::<u8>::new());
        assert!(input(b"\"***\"").read_bytes().is_err());
        let all: Vec<u8> = (0..=255).collect();
        let mut o = out();
        o.write_bytes(&all).unwrap();
        let bytes = o.into_inner();
        assert_eq!(input(&bytes).read_bytes().unwrap(), all);
    }

    #[test]
    fn reads_bools_as_numbers_or_literals() {
        for (json, expected) in [
            (&b"1"[..], true),
            (b"0", false),
            (b"true", true),
            (b"false", false),
        ] {
            assert_eq!(input(json).read_bool().unwrap(), expected);
        }
        let json = br#"["tf","i32",2,{"1":1,"false":0}]"#;
        let mut i = input(json);
        i.read_map_begin().unwrap();
        assert!(i.read_bool().unwrap());
        i.read_i32().unwrap();
        assert!(!i.read_bool().unwrap());
        i.read_i32().unwrap();
        i.read_map_end().unwrap();
    }

    #[test]
    fn rejects_integers_out_of_range() {
        assert!(input(b"128").read_i8().is_err());
        assert_eq!(input(b"-128").read_i8().unwrap(), -128);
        assert!(input(b"32768").read_i16().is_err());
        assert!(input(b"2147483648").read_i32().is_err());
        assert!(input(b"9223372036854775808").read_i64().is_err());
        assert!(input(b"1.5").read_i32().is_err());
        let err = input(b"[1,\"m\",1,99999999999,{}]")
            .read_message_begin()
            .unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::InvalidData);
        assert!(input(b"{\"40000\":{\"i32\":1}}")
            .read_struct_begin()
            .is_ok());
        let mut i = input(b"{\"40000\":{\"i32\":1}}");
        i.read_struct_begin().unwrap();
        assert!(i.read_field_begin().is_err());
    }

    #[test]
    fn wrong_tokens_are_protocol_errors_with_context() {
        let err = input(b"\"x\"").read_i32().unwrap_err();
        let thrift::Error::Protocol(p) = err else {
            panic!("expected a protocol error")
        };
        assert_eq!(p.kind, ProtocolErrorKind::InvalidData);
        assert!(p.message.contains("expected a number"), "{}", p.message);

        for bad in [
            &b"{}"[..],
            b"[2,\"m\",1,0,{}]",
            b"[1,\"m\",9,0,{}]",
            b"[1,m,1,0,{}]",
            b"[1,\"m\",1,0,[]]",
        ] {
            let err = skip_message(bad, TConfiguration::default()).unwrap_err();
            assert!(
                matches!(err, thrift::Error::Protocol(_)),
                "{bad:?}: {err:?}"
            );
        }

        let err =
            skip_message(br#"[1,"m",1,0,{"1":{"xyz":1}}]"#, TConfiguration::default()).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::NotImplemented);

        let err = skip_message(
            br#"[1,"m",1,0,{"1":{"i32":1,"i64":2}}]"#,
            TConfiguration::default(),
        )
        .unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::InvalidData);
    }

    #[test]
    fn empty_map_accepts_unknown_types() {
        let mut i = input(br#"["?","",0,{}]"#);
        let map = i.read_map_begin().unwrap();
        assert_eq!(map, TMapIdentifier::new(None, None, 0));
        i.read_map_end().unwrap();
        assert!(input(br#"["?","i32",1,{"1":1}]"#).read_map_begin().is_err());
        // skip's map arm expects types for non-empty maps; an empty one must not reach it.
        skip_message(
            br#"[1,"m",1,0,{"1":{"map":["?","?",0,{}]}}]"#,
            TConfiguration::default(),
        )
        .unwrap();
    }

    #[test]
    fn every_truncation_is_an_error() {
        for example in [KILL_TASKS_CALL, KILL_TASKS_REPLY] {
            let bytes = example.as_bytes();
            for end in 0..bytes.len() {
                let result = skip_message(&bytes[..end], TConfiguration::default());
                assert!(result.is_err(), "prefix {end} parsed");
            }
        }
    }

    #[test]
    fn huge_declared_list_fails_fast() {
        let json = br#"[1,"m",1,0,{"1":{"lst":["i32",2000000000,1,2,3]}}]"#;
        let started = std::time::Instant::now();
        let err = skip_message(json, TConfiguration::default()).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));

        let mut i = input(br#"["i32",2000000000,"#);
        let err = i.read_list_begin().unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);

        let err = input(br#"["i32",-1]"#).read_list_begin().unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::NegativeSize);
        let err = input(br#"["i32","i32",3000000000,{}]"#)
            .read_map_begin()
            .unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);
    }

    #[test]
    fn honours_configured_limits() {
        let config = |b: thrift::TConfigurationBuilder| b.build().unwrap();

        let small_containers = config(TConfiguration::builder().max_container_size(Some(2)));
        let json = br#"["i32",3,1,2,3]"#;
        let err = TJsonInputProtocol::new(json, small_containers)
            .read_list_begin()
            .unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);

        let small_strings = config(TConfiguration::builder().max_string_size(Some(4)));
        let mut i = TJsonInputProtocol::new(br#""abcd""#, small_strings.clone());
        assert_eq!(i.read_string().unwrap(), "abcd");
        let err = TJsonInputProtocol::new(br#""abcde""#, small_strings.clone())
            .read_string()
            .unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);
        let err =
            skip_message(br#"[1,"m",1,0,{"1":{"str":"abcdef"}}]"#, small_strings).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::SizeLimit);

        let shallow = config(TConfiguration::builder().max_recursion_depth(Some(2)));
        let two = br#"[1,"m",1,0,{"1":{"rec":{}}}]"#;
        skip_message(two, shallow.clone()).unwrap();
        let three = br#"[1,"m",1,0,{"1":{"lst":["lst",1,["i32",0]]}}]"#;
        let err = skip_message(three, shallow).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::DepthLimit);
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut json = String::from(r#"[1,"m",1,0,{"1":{"lst":"#);
        for _ in 0..10_000 {
            json.push_str(r#"["lst",1,"#);
        }
        let err = skip_message(json.as_bytes(), TConfiguration::no_limits()).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::DepthLimit);
        let err = skip_message(json.as_bytes(), TConfiguration::default()).unwrap_err();
        assert_eq!(protocol_kind(err), ProtocolErrorKind::DepthLimit);
    }

    #[test]
    fn unbalanced_calls_error_instead_of_panicking() {
        let mut o = out();
        assert!(o.write_struct_end().is_err());
        assert!(o.write_list_end().is_err());
        o.write_list_begin(&TListIdentifier::new(TType::I32, 0))
            .unwrap();
        assert!(o.write_struct_end().is_err());
        assert!(o
            .write_map_begin(&TMapIdentifier::new(None, None, 0))
            .is_err());
        assert!(o
            .write_field_begin(&TFieldIdentifier::new("s", TType::Stop, 1))
            .is_err());

        let mut i = input(b"}]}]");
        assert!(i.read_struct_end().is_err());
        assert!(i.read_list_end().is_err());
        assert!(i.read_message_end().is_err());
        assert!(i.read_field_begin().is_err());
    }

    #[test]
    fn snapshot_primitives() {
        let mut o = out();
        write_primitives(&mut o);
        insta::assert_snapshot!(text(o));
    }

    #[test]
    fn snapshot_containers() {
        let mut o = out();
        write_containers(&mut o);
        insta::assert_snapshot!(text(o));
    }

    #[test]
    fn snapshot_exception_reply() {
        let mut o = out();
        message(&mut o, "getJobs", TMessageType::Exception, 3);
        o.write_struct_begin(&TStructIdentifier::new("TApplicationException"))
            .unwrap();
        field(&mut o, TType::String, 1);
        o.write_string("Invalid method name: 'getJobs'\twith \"quotes\"")
            .unwrap();
        o.write_field_end().unwrap();
        field(&mut o, TType::I32, 2);
        o.write_i32(1).unwrap();
        o.write_field_end().unwrap();
        o.write_field_stop().unwrap();
        o.write_struct_end().unwrap();
        o.write_message_end().unwrap();
        insta::assert_snapshot!(text(o));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = skip_message(&bytes, TConfiguration::default());
        }

        #[test]
        fn json_like_bytes_never_panic(
            body in proptest::string::string_regex(
                r#"[\[\]{}",:0-9a-z\\ .eE+-]{0,120}"#
            ).unwrap()
        ) {
            let json = format!(r#"[1,"m",1,0,{body}"#);
            let _ = skip_message(json.as_bytes(), TConfiguration::default());
        }

        #[test]
        fn mutated_examples_never_panic(
            index in 0usize..3,
            edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6)
        ) {
            let mut bytes = [ROLE_SUMMARY, KILL_TASKS_CALL, KILL_TASKS_REPLY][index]
                .as_bytes()
                .to_vec();
            for (at, b) in edits {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            let _ = skip_message(&bytes, TConfiguration::default());
        }

        #[test]
        fn strings_round_trip(s in any::<String>()) {
            let mut o = out();
            o.write_string(&s).unwrap();
            let bytes = o.into_inner();
            prop_assert_eq!(input(&bytes).read_string().unwrap(), s);
        }

        #[test]
        fn doubles_round_trip(d in any::<f64>()) {
            let mut o = out();
            o.write_double(d).unwrap();
            let bytes = o.into_inner();
            let back = input(&bytes).read_double().unwrap();
            prop_assert!(back.to_bits() == d.to_bits() || (d.is_nan() && back.is_nan()));
        }
    }
}
