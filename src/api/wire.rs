//! How Rust values travel as Thrift: the `Wire` trait for field values, and the macros that declare
//! Thrift structs, unions and enums the way the IDL does (field ids, declaration order).
//!
//! Requiredness follows the Java scheduler (api-reference §0 and Appendix A): a field declared with a
//! plain Rust primitive (`i32`, `i64`, `bool`, `f64`) is always written and reads as 0/false when
//! absent; a field declared `Option<T>` is written only when set. Fields marked `as set` travel as a
//! Thrift set; in Rust every set is a `Vec`, since the scheduler dedupes and no order is promised.

use std::collections::BTreeMap;

use thrift::protocol::{
    TFieldIdentifier, TInputProtocol, TListIdentifier, TMapIdentifier, TOutputProtocol,
    TSetIdentifier, TStructIdentifier, TType,
};

/// Largest capacity reserved up front for a decoded container: the declared count is untrusted.
const MAX_PREALLOCATED: usize = 1024;
/// What a `BTreeMap` entry costs beyond its key and value (node headers and spare slots).
const MAP_ENTRY_OVERHEAD: usize = 16;

thread_local! {
    /// Bytes the decode running on this thread may still allocate for decoded values, or `None`
    /// outside `with_decode_budget` (values built by this program, not read from a peer).
    ///
    /// A thread-local rather than a field of the input protocol: `Wire::read` takes the `thrift`
    /// crate's `dyn TInputProtocol`, which cannot carry a budget, and a decode never leaves its
    /// thread (it is synchronous).
    static DECODE_BUDGET: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Runs `decode` allowing it at most `bytes` of decoded values: list, set and map slots (what
/// their element types take in memory) and string contents. The body's length already bounds
/// every declared length; this bounds what those bytes expand into (an empty struct is one byte
/// of TBinary but tens of bytes in memory), so that no body can make its reader allocate more
/// than `bytes` plus the body. Past the budget the decode fails with a `SizeLimit` error.
pub fn with_decode_budget<T>(bytes: usize, decode: impl FnOnce() -> T) -> T {
    /// Puts the outer budget back, even when `decode` unwinds.
    struct Restore(Option<usize>);
    impl Drop for Restore {
        fn drop(&mut self) {
            DECODE_BUDGET.with(|b| b.set(self.0));
        }
    }
    let _restore = Restore(DECODE_BUDGET.with(|b| b.replace(Some(bytes))));
    decode()
}

/// Takes `bytes` from the running decode's budget.
fn charge(bytes: usize) -> thrift::Result<()> {
    DECODE_BUDGET.with(|budget| match budget.get() {
        None => Ok(()),
        Some(left) if bytes <= left => {
            budget.set(Some(left - bytes));
            Ok(())
        }
        Some(_) => {
            budget.set(Some(0));
            Err(thrift::Error::Protocol(thrift::ProtocolError::new(
                thrift::ProtocolErrorKind::SizeLimit,
                "the message decodes to more values than one message may hold",
            )))
        }
    })
}

/// Charges the growth of `items` before one more element is pushed: a `Vec` doubles its
/// capacity when full, so the charge is what the reallocation will add.
fn charge_growth<T>(items: &Vec<T>) -> thrift::Result<()> {
    if items.len() < items.capacity() {
        return Ok(());
    }
    let added = items.capacity().max(4);
    charge(added.saturating_mul(std::mem::size_of::<T>().max(1)))
}

/// A value that can be a Thrift field, list element or map key/value.
pub trait Wire: Sized {
    /// The Thrift type this value travels as.
    const TTYPE: TType;

    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()>;
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self>;

    /// Whether a field announced with `ttype` can be read as this value (lists and sets are
    /// interchangeable on input, as they are identical in TBinary).
    fn accepts(ttype: TType) -> bool {
        ttype == Self::TTYPE
    }

    /// Reads a value announced on the wire as `ttype` (already checked with `accepts`).
    fn read_as(i: &mut dyn TInputProtocol, _ttype: TType) -> thrift::Result<Self> {
        Self::read(i)
    }

    /// Writes the value as `ttype`: only sequences honour it, to travel as a set.
    fn write_as(&self, o: &mut dyn TOutputProtocol, _ttype: TType) -> thrift::Result<()> {
        self.write(o)
    }
}

/// A struct field: `Option<T>` is written only when set; a bare primitive is always written.
pub trait Field: Default {
    type Value: Wire;
    fn present(&self) -> Option<&Self::Value>;
    fn from_value(value: Self::Value) -> Self;
}

impl<T: Wire> Field for Option<T> {
    type Value = T;
    fn present(&self) -> Option<&T> {
        self.as_ref()
    }
    fn from_value(value: T) -> Self {
        Some(value)
    }
}

macro_rules! primitive {
    ($ty:ty, $ttype:expr, $write:ident, $read:ident) => {
        impl Wire for $ty {
            const TTYPE: TType = $ttype;
            fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
                o.$write(*self)
            }
            fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
                i.$read()
            }
        }
        impl Field for $ty {
            type Value = $ty;
            fn present(&self) -> Option<&$ty> {
                Some(self)
            }
            fn from_value(value: $ty) -> Self {
                value
            }
        }
    };
}

primitive!(bool, TType::Bool, write_bool, read_bool);
primitive!(i32, TType::I32, write_i32, read_i32);
primitive!(i64, TType::I64, write_i64, read_i64);
primitive!(f64, TType::Double, write_double, read_double);

impl Wire for String {
    const TTYPE: TType = TType::String;
    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        o.write_string(self)
    }
    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        let text = i.read_string()?;
        charge(text.len())?;
        Ok(text)
    }
}

fn container_len(size: i32) -> thrift::Result<usize> {
    usize::try_from(size).map_err(|_| {
        thrift::Error::Protocol(thrift::ProtocolError::new(
            thrift::ProtocolErrorKind::NegativeSize,
            format!("negative container size {size}"),
        ))
    })
}

fn check_element_type(expected: TType, got: Option<TType>, len: usize) -> thrift::Result<()> {
    match got {
        Some(t) if t != expected && len > 0 => {
            Err(thrift::Error::Protocol(thrift::ProtocolError::new(
                thrift::ProtocolErrorKind::InvalidData,
                format!("container holds {t:?} elements where {expected:?} was expected"),
            )))
        }
        _ => Ok(()),
    }
}

impl<T: Wire> Wire for Vec<T> {
    const TTYPE: TType = TType::List;

    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        self.write_as(o, TType::List)
    }

    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        Self::read_as(i, TType::List)
    }

    fn accepts(ttype: TType) -> bool {
        matches!(ttype, TType::List | TType::Set)
    }

    fn read_as(i: &mut dyn TInputProtocol, ttype: TType) -> thrift::Result<Self> {
        let (element_type, size) = if ttype == TType::Set {
            let id = i.read_set_begin()?;
            (id.element_type, id.size)
        } else {
            let id = i.read_list_begin()?;
            (id.element_type, id.size)
        };
        let len = container_len(size)?;
        check_element_type(T::TTYPE, Some(element_type), len)?;
        let capacity = len.min(MAX_PREALLOCATED);
        charge(capacity.saturating_mul(std::mem::size_of::<T>()))?;
        let mut items = Vec::with_capacity(capacity);
        for _ in 0..len {
            charge_growth(&items)?;
            items.push(T::read(i)?);
        }
        if ttype == TType::Set {
            i.read_set_end()?;
        } else {
            i.read_list_end()?;
        }
        Ok(items)
    }

    fn write_as(&self, o: &mut dyn TOutputProtocol, ttype: TType) -> thrift::Result<()> {
        let size = i32::try_from(self.len()).map_err(|_| {
            thrift::Error::Protocol(thrift::ProtocolError::new(
                thrift::ProtocolErrorKind::SizeLimit,
                "container too large for Thrift",
            ))
        })?;
        if ttype == TType::Set {
            o.write_set_begin(&TSetIdentifier::new(T::TTYPE, size))?;
        } else {
            o.write_list_begin(&TListIdentifier::new(T::TTYPE, size))?;
        }
        for item in self {
            item.write(o)?;
        }
        if ttype == TType::Set {
            o.write_set_end()
        } else {
            o.write_list_end()
        }
    }
}

impl<K: Wire + Ord, V: Wire> Wire for BTreeMap<K, V> {
    const TTYPE: TType = TType::Map;

    fn write(&self, o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
        let size = i32::try_from(self.len()).map_err(|_| {
            thrift::Error::Protocol(thrift::ProtocolError::new(
                thrift::ProtocolErrorKind::SizeLimit,
                "map too large for Thrift",
            ))
        })?;
        o.write_map_begin(&TMapIdentifier::new(K::TTYPE, V::TTYPE, size))?;
        for (k, v) in self {
            k.write(o)?;
            v.write(o)?;
        }
        o.write_map_end()
    }

    fn read(i: &mut dyn TInputProtocol) -> thrift::Result<Self> {
        let id = i.read_map_begin()?;
        let len = container_len(id.size)?;
        check_element_type(K::TTYPE, id.key_type, len)?;
        check_element_type(V::TTYPE, id.value_type, len)?;
        let mut map = BTreeMap::new();
        for _ in 0..len {
            // A B-tree entry costs its key and value plus a share of its node.
            charge(std::mem::size_of::<(K, V)>() + MAP_ENTRY_OVERHEAD)?;
            let k = K::read(i)?;
            let v = V::read(i)?;
            map.insert(k, v);
        }
        i.read_map_end()?;
        Ok(map)
    }
}

/// Reads one field value announced as `ttype`, or skips it when its type does not match, as the
/// Java reader does for a field whose type changed.
pub fn read_field<F: Field>(i: &mut dyn TInputProtocol, ttype: TType) -> thrift::Result<Option<F>> {
    if F::Value::accepts(ttype) {
        Ok(Some(F::from_value(F::Value::read_as(i, ttype)?)))
    } else {
        i.skip(ttype)?;
        Ok(None)
    }
}

/// Writes one field when it has a value.
pub fn write_field<F: Field>(
    o: &mut dyn TOutputProtocol,
    name: &str,
    id: i16,
    ttype: TType,
    value: &F,
) -> thrift::Result<()> {
    match value.present() {
        Some(v) => write_member(o, name, id, ttype, v),
        None => Ok(()),
    }
}

/// Writes one field header and value.
pub fn write_member<T: Wire>(
    o: &mut dyn TOutputProtocol,
    name: &str,
    id: i16,
    ttype: TType,
    value: &T,
) -> thrift::Result<()> {
    o.write_field_begin(&TFieldIdentifier::new(name, ttype, id))?;
    value.write_as(o, ttype)?;
    o.write_field_end()
}

pub fn begin_struct(o: &mut dyn TOutputProtocol, name: &str) -> thrift::Result<()> {
    o.write_struct_begin(&TStructIdentifier::new(name))
}

pub fn end_struct(o: &mut dyn TOutputProtocol) -> thrift::Result<()> {
    o.write_field_stop()?;
    o.write_struct_end()
}

/// Reads the next field header: `None` at the end of the struct.
pub fn next_field(i: &mut dyn TInputProtocol) -> thrift::Result<Option<(i16, TType)>> {
    let f = i.read_field_begin()?;
    if f.field_type == TType::Stop {
        return Ok(None);
    }
    Ok(Some((f.id.unwrap_or(0), f.field_type)))
}

pub fn invalid_data(message: impl Into<String>) -> thrift::Error {
    thrift::Error::Protocol(thrift::ProtocolError::new(
        thrift::ProtocolErrorKind::InvalidData,
        message.into(),
    ))
}

/// The Thrift type a field travels as: its value's own, or `Set` for sequences declared `as set`.
#[doc(hidden)]
#[macro_export]
macro_rules! __field_ttype {
    ($ty:ty) => {
        <<$ty as $crate::api::wire::Field>::Value as $crate::api::wire::Wire>::TTYPE
    };
    ($ty:ty, set) => {
        ::thrift::protocol::TType::Set
    };
}

/// Declares a Thrift struct: `id: field: Type [as set]`, in IDL declaration order (the write order).
#[macro_export]
macro_rules! thrift_struct {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $id:literal : $field:ident : $ty:ty $(as $kind:ident)? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase", default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(skip_serializing_if = "crate::api::wire::is_unset")]
                pub $field: $ty,
            )*
        }

        impl $crate::api::wire::Wire for $name {
            const TTYPE: ::thrift::protocol::TType = ::thrift::protocol::TType::Struct;

            #[allow(unused_variables)]
            fn write(&self, o: &mut dyn ::thrift::protocol::TOutputProtocol) -> ::thrift::Result<()> {
                $crate::api::wire::begin_struct(o, stringify!($name))?;
                $(
                    $crate::api::wire::write_field(
                        o, stringify!($field), $id, $crate::__field_ttype!($ty $(, $kind)?), &self.$field,
                    )?;
                )*
                $crate::api::wire::end_struct(o)
            }

            fn read(i: &mut dyn ::thrift::protocol::TInputProtocol) -> ::thrift::Result<Self> {
                #[allow(unused_mut)]
                let mut value = Self::default();
                i.read_struct_begin()?;
                while let Some((id, ttype)) = $crate::api::wire::next_field(i)? {
                    match id {
                        $(
                            $id => {
                                if let Some(v) = $crate::api::wire::read_field::<$ty>(i, ttype)? {
                                    value.$field = v;
                                }
                            }
                        )*
                        _ => i.skip(ttype)?,
                    }
                    i.read_field_end()?;
                }
                i.read_struct_end()?;
                Ok(value)
            }
        }

        impl ::thrift::protocol::TSerializable for $name {
            fn read_from_in_protocol(i: &mut dyn ::thrift::protocol::TInputProtocol) -> ::thrift::Result<Self> {
                <Self as $crate::api::wire::Wire>::read(i)
            }
            fn write_to_out_protocol(&self, o: &mut dyn ::thrift::protocol::TOutputProtocol) -> ::thrift::Result<()> {
                <Self as $crate::api::wire::Wire>::write(self, o)
            }
        }
    };
}

/// Declares a Thrift union as a Rust enum: exactly one member travels.
#[macro_export]
macro_rules! thrift_union {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $id:literal : $variant:ident ( $ty:ty $(as $kind:ident)? ) ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        // Members mirror the IDL; boxing the large ones would make every user unbox them.
        #[allow(clippy::large_enum_variant)]
        pub enum $name {
            $( $(#[$vmeta])* $variant($ty), )*
        }

        impl $crate::api::wire::Wire for $name {
            const TTYPE: ::thrift::protocol::TType = ::thrift::protocol::TType::Struct;

            fn write(&self, o: &mut dyn ::thrift::protocol::TOutputProtocol) -> ::thrift::Result<()> {
                $crate::api::wire::begin_struct(o, stringify!($name))?;
                match self {
                    $(
                        Self::$variant(v) => $crate::api::wire::write_member(
                            o, stringify!($variant), $id, $crate::__field_ttype!(Option<$ty> $(, $kind)?), v,
                        )?,
                    )*
                }
                $crate::api::wire::end_struct(o)
            }

            fn read(i: &mut dyn ::thrift::protocol::TInputProtocol) -> ::thrift::Result<Self> {
                let mut value = None;
                i.read_struct_begin()?;
                while let Some((id, ttype)) = $crate::api::wire::next_field(i)? {
                    let member = match id {
                        $(
                            $id => $crate::api::wire::read_field::<Option<$ty>>(i, ttype)?
                                .flatten()
                                .map(Self::$variant),
                        )*
                        _ => {
                            i.skip(ttype)?;
                            None
                        }
                    };
                    if member.is_some() {
                        if value.is_some() {
                            return Err($crate::api::wire::invalid_data(concat!(
                                "more than one member set in union ", stringify!($name)
                            )));
                        }
                        value = member;
                    }
                    i.read_field_end()?;
                }
                i.read_struct_end()?;
                value.ok_or_else(|| {
                    $crate::api::wire::invalid_data(concat!("no known member set in union ", stringify!($name)))
                })
            }
        }

        impl ::thrift::protocol::TSerializable for $name {
            fn read_from_in_protocol(i: &mut dyn ::thrift::protocol::TInputProtocol) -> ::thrift::Result<Self> {
                <Self as $crate::api::wire::Wire>::read(i)
            }
            fn write_to_out_protocol(&self, o: &mut dyn ::thrift::protocol::TOutputProtocol) -> ::thrift::Result<()> {
                <Self as $crate::api::wire::Wire>::write(self, o)
            }
        }
    };
}

/// Declares a Thrift enum as an `i32` newtype with named constants, so that values this code does
/// not know still decode (Appendix A). Serialized to JSON by name when known.
#[macro_export]
macro_rules! thrift_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $value:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub i32);

        #[allow(non_upper_case_globals)]
        impl $name {
            $( $(#[$vmeta])* pub const $variant: Self = Self($value); )*

            /// Every named value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),*];

            /// The IDL name of a known value.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($variant)), )*
                    _ => None,
                }
            }

            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( stringify!($variant) => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(self, f)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                match self.name() {
                    Some(n) => s.serialize_str(n),
                    None => s.serialize_i32(self.0),
                }
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                #[derive(::serde::Deserialize)]
                #[serde(untagged)]
                enum Repr {
                    Number(i32),
                    Name(String),
                }
                match Repr::deserialize(d)? {
                    Repr::Number(n) => Ok(Self(n)),
                    Repr::Name(n) => Self::from_name(&n).ok_or_else(|| {
                        <D::Error as ::serde::de::Error>::custom(format!(
                            "unknown {} {:?}; expected one of {:?}",
                            stringify!($name),
                            n,
                            Self::ALL.iter().filter_map(|v| v.name()).collect::<Vec<_>>()
                        ))
                    }),
                }
            }
        }

        impl $crate::api::wire::Wire for $name {
            const TTYPE: ::thrift::protocol::TType = ::thrift::protocol::TType::I32;
            fn write(&self, o: &mut dyn ::thrift::protocol::TOutputProtocol) -> ::thrift::Result<()> {
                o.write_i32(self.0)
            }
            fn read(i: &mut dyn ::thrift::protocol::TInputProtocol) -> ::thrift::Result<Self> {
                Ok(Self(i.read_i32()?))
            }
        }
    };
}

/// What `skip_serializing_if` leaves out of JSON output: unset options.
pub fn is_unset<T: Field>(value: &T) -> bool {
    value.present().is_none()
}
