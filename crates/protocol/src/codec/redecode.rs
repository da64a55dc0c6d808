//! The error path's second look at a message that failed to decode: which of our rules it broke,
//! as a typed [`Fault`].
//!
//! serde_json's errors say what went wrong only in English text, which a serde_json upgrade may
//! reword. So when the fast path fails, the element (already known to be valid JSON) is read
//! into a small tree ([`Node`]) and decoded again through the same `Deserialize` impls, this time
//! by a deserializer whose error type is ours: serde's derived code then reports a missing,
//! unknown or repeated field, or what it expected, by calling typed methods of [`Fault`]. The
//! deserializer mirrors serde_json's reading of each JSON value (number kinds, `null` for
//! options, enums as strings or one-entry objects, the nesting limit), so the second pass fails
//! where the first did. The happy path never comes here.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, StringDeserializer};
use serde::de::{
    self, DeserializeSeed, EnumAccess, Expected, MapAccess, SeqAccess, Unexpected, VariantAccess,
    Visitor,
};
use serde::{forward_to_deserialize_any, Deserializer};

use super::client::Key;

/// Which rule a message broke, as serde's derived code (or our reading of JSON) reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Fault {
    /// A required field is absent; its name.
    MissingField(&'static str),
    /// A field the message type does not have.
    UnknownField,
    /// A field given twice.
    DuplicateField,
    /// A value of the wrong type, out of range, of the wrong length or not among the names the
    /// type knows: what was expected, as the type describes it (`u8`, `a string`, …).
    Expected(String),
    /// A number beyond `f64`'s range.
    NumberOutOfRange,
    /// A value JSON-valid but unreadable as the type asks (a number where an enum's name
    /// belongs, an object nested deeper than the parser allows).
    WrongType,
    /// Anything else serde reports (a rule without a more specific method).
    Other,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Fault {}

impl de::Error for Fault {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Fault::Other
    }

    fn invalid_type(_: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Fault::Expected(expected.to_string())
    }

    fn invalid_value(_: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Fault::Expected(expected.to_string())
    }

    fn invalid_length(_: usize, expected: &dyn Expected) -> Self {
        Fault::Expected(expected.to_string())
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        Fault::Expected(one_of(expected))
    }

    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Fault::UnknownField
    }

    fn missing_field(field: &'static str) -> Self {
        Fault::MissingField(field)
    }

    fn duplicate_field(_: &'static str) -> Self {
        Fault::DuplicateField
    }
}

/// The names a value may take, worded as serde words them.
fn one_of(names: &[&str]) -> String {
    match names {
        [] => "there are no variants".to_owned(),
        [one] => format!("`{one}`"),
        [a, b] => format!("`{a}` or `{b}`"),
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            format!("one of {}", quoted.join(", "))
        }
    }
}

/// A JSON number as serde_json reads it: the kind decides which `visit_*` method a type sees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Number {
    U64(u64),
    I64(i64),
    F64(f64),
    /// Beyond `f64`: serde_json refuses it wherever it is read rather than skipped.
    OutOfRange,
}

impl Number {
    /// Classifies a JSON number token like serde_json: an integer that fits stays one (`-0` and
    /// negatives below `i64::MIN` become floats); a fraction or an exponent makes a float.
    fn parse(token: &str) -> Number {
        let float = || match token.parse::<f64>() {
            Ok(v) if v.is_finite() => Number::F64(v),
            _ => Number::OutOfRange,
        };
        if token.contains(['.', 'e', 'E']) {
            return float();
        }
        let (positive, digits) = match token.strip_prefix('-') {
            Some(digits) => (false, digits),
            None => (true, token),
        };
        let Ok(significand) = digits.parse::<u64>() else {
            return float();
        };
        if positive {
            return Number::U64(significand);
        }
        let negated = (significand as i64).wrapping_neg();
        if negated >= 0 {
            Number::F64(-(significand as f64))
        } else {
            Number::I64(negated)
        }
    }
}

/// A JSON value borrowed from the element text, keeping what serde_json would show a visitor:
/// object entries in order, duplicates included.
#[derive(Debug)]
pub(super) enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Key<'a>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Key<'a>, Node<'a>)>),
    /// A container nested past serde_json's limit: reading it fails as it would there.
    TooDeep,
}

/// serde_json's nesting limit: the 128th open container is refused.
const MAX_DEPTH: usize = 128;

impl<'a> Node<'a> {
    /// Reads valid JSON `text`; `None` only if it is not valid JSON after all.
    pub(super) fn parse(text: &'a str) -> Option<Node<'a>> {
        let mut reader = Reader { text, pos: 0 };
        let node = reader.value(MAX_DEPTH)?;
        reader.skip_space();
        (reader.pos == text.len()).then_some(node)
    }
}

/// A cursor over JSON text known to be valid (the caller checked it with serde_json).
struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    fn skip_space(&mut self) {
        let rest = &self.text.as_bytes()[self.pos..];
        self.pos += rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
            .count();
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        self.pos += usize::from(found);
        found
    }

    /// One value; `remaining` is how many more containers may open before the limit.
    fn value(&mut self, remaining: usize) -> Option<Node<'a>> {
        match self.peek()? {
            b'{' | b'[' if remaining <= 1 => {
                self.skip_container()?;
                Some(Node::TooDeep)
            }
            b'{' => self.object(remaining - 1),
            b'[' => self.array(remaining - 1),
            b'"' => self.string().map(Node::Str),
            b't' => self.literal("true", Node::Bool(true)),
            b'f' => self.literal("false", Node::Bool(false)),
            b'n' => self.literal("null", Node::Null),
            _ => {
                let rest = &self.text[self.pos..];
                let len = rest
                    .find(|c: char| !matches!(c, '0'..='9' | '-' | '+' | '.' | 'e' | 'E'))
                    .unwrap_or(rest.len());
                self.pos += len;
                (len > 0).then(|| Node::Number(Number::parse(&rest[..len])))
            }
        }
    }

    fn literal(&mut self, word: &str, node: Node<'a>) -> Option<Node<'a>> {
        self.text[self.pos..].starts_with(word).then(|| {
            self.pos += word.len();
            node
        })
    }

    fn object(&mut self, remaining: usize) -> Option<Node<'a>> {
        self.pos += 1;
        let mut entries = Vec::new();
        if self.eat(b'}') {
            return Some(Node::Object(entries));
        }
        loop {
            self.peek()?;
            let key = self.string()?;
            if !self.eat(b':') {
                return None;
            }
            entries.push((key, self.value(remaining)?));
            if self.eat(b'}') {
                return Some(Node::Object(entries));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    fn array(&mut self, remaining: usize) -> Option<Node<'a>> {
        self.pos += 1;
        let mut items = Vec::new();
        if self.eat(b']') {
            return Some(Node::Array(items));
        }
        loop {
            items.push(self.value(remaining)?);
            if self.eat(b']') {
                return Some(Node::Array(items));
            }
            if !self.eat(b',') {
                return None;
            }
        }
    }

    /// A string token, unescaped by serde_json (borrowed when it has no escapes).
    fn string(&mut self) -> Option<Key<'a>> {
        let end = self.string_end()?;
        let token = &self.text[self.pos..end];
        self.pos = end;
        serde_json::from_str(token).ok()
    }

    /// The byte offset just past the string token starting at `pos`.
    fn string_end(&self) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
        None
    }

    /// Skips a container without building it (strings may hold brackets).
    fn skip_container(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'{' | b'[' => {
                    depth += 1;
                    self.pos += 1;
                }
                b'}' | b']' => {
                    depth -= 1;
                    self.pos += 1;
                    if depth == 0 {
                        return Some(());
                    }
                }
                b'"' => self.pos = self.string_end()?,
                _ => self.pos += 1,
            }
        }
    }
}

/// The `deserialize_*` methods of the number kinds: they read only a number.
macro_rules! numbers {
    ($($method:ident)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
                self.expect(matches!(self, Node::Number(_)), visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for &'de Node<'de> {
    type Error = Fault;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        match self {
            Node::Null => visitor.visit_unit(),
            Node::Bool(b) => visitor.visit_bool(*b),
            Node::Number(Number::U64(n)) => visitor.visit_u64(*n),
            Node::Number(Number::I64(n)) => visitor.visit_i64(*n),
            Node::Number(Number::F64(n)) => visitor.visit_f64(*n),
            Node::Number(Number::OutOfRange) => Err(Fault::NumberOutOfRange),
            Node::Str(Key::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Node::Str(Key::Owned(s)) => visitor.visit_str(s),
            Node::Array(items) => visitor.visit_seq(Items(items.iter())),
            Node::Object(entries) => visitor.visit_map(Entries {
                entries: entries.iter(),
                value: None,
            }),
            Node::TooDeep => Err(Fault::WrongType),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        match self {
            Node::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fault> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fault> {
        match self {
            Node::Str(Key::Borrowed(s)) => {
                visitor.visit_enum(BorrowedStrDeserializer::<Fault>::new(s))
            }
            Node::Str(Key::Owned(s)) => {
                visitor.visit_enum(StringDeserializer::<Fault>::new(s.clone()))
            }
            // serde_json reads `{"variant": value}` and then wants the object to end.
            Node::Object(entries) => match entries.as_slice() {
                [(key, value)] => visitor.visit_enum(Variant { key, value }),
                [(key, value), ..] => {
                    visitor.visit_enum(Variant { key, value })?;
                    Err(Fault::WrongType)
                }
                [] => Err(Fault::WrongType),
            },
            // serde_json wants a name here and reads no further.
            _ => Err(Fault::WrongType),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        // serde_json skips a value without converting it: an out-of-range number or a deep
        // container is fine where nobody reads it.
        visitor.visit_unit()
    }

    // serde_json reads each kind only where it is asked for; anything else is refused before a
    // visitor that would accept more (a variant index for a name) ever sees it.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.expect(matches!(self, Node::Str(_)), visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.deserialize_str(visitor)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.expect(matches!(self, Node::Bool(_)), visitor)
    }

    numbers! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.expect(matches!(self, Node::Null), visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fault> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.expect(matches!(self, Node::Array(_) | Node::TooDeep), visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Fault> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Fault> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fault> {
        self.expect(matches!(self, Node::Object(_) | Node::TooDeep), visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fault> {
        let container = matches!(self, Node::Object(_) | Node::Array(_) | Node::TooDeep);
        self.expect(container, visitor)
    }

    forward_to_deserialize_any! { bytes byte_buf }
}

impl<'de> Node<'de> {
    /// Reads this node if it is the kind asked for (`fits`), else refuses it as serde_json does:
    /// what the visitor expected, or the number that could not be read at all.
    fn expect<V: Visitor<'de>>(&'de self, fits: bool, visitor: V) -> Result<V::Value, Fault> {
        match self {
            _ if fits => self.deserialize_any(visitor),
            Node::Number(Number::OutOfRange) => Err(Fault::NumberOutOfRange),
            _ => Err(de::Error::invalid_type(
                Unexpected::Other("value"),
                &visitor,
            )),
        }
    }
}

struct Items<'de>(std::slice::Iter<'de, Node<'de>>);

impl<'de> SeqAccess<'de> for Items<'de> {
    type Error = Fault;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Fault> {
        self.0.next().map(|node| seed.deserialize(node)).transpose()
    }
}

struct Entries<'de> {
    entries: std::slice::Iter<'de, (Key<'de>, Node<'de>)>,
    value: Option<&'de Node<'de>>,
}

impl<'de> MapAccess<'de> for Entries<'de> {
    type Error = Fault;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Fault> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(value);
        seed.deserialize(key_deserializer(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fault> {
        // serde calls this once after each key; a value without a key is serde's own bug.
        seed.deserialize(self.value.take().unwrap_or(&Node::Null))
    }
}

fn key_deserializer<'de>(key: &'de Key<'de>) -> BorrowedStrDeserializer<'de, Fault> {
    BorrowedStrDeserializer::new(key.as_str())
}

/// `{"variant": value}` read as an enum.
struct Variant<'de> {
    key: &'de Key<'de>,
    value: &'de Node<'de>,
}

impl<'de> EnumAccess<'de> for Variant<'de> {
    type Error = Fault;
    type Variant = &'de Node<'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, &'de Node<'de>), Fault> {
        let variant = seed.deserialize(key_deserializer(self.key))?;
        Ok((variant, self.value))
    }
}

impl<'de> VariantAccess<'de> for &'de Node<'de> {
    type Error = Fault;

    fn unit_variant(self) -> Result<(), Fault> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Fault> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Fault> {
        self.deserialize_any(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fault> {
        self.deserialize_any(visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        assert_eq!(Number::parse("7"), Number::U64(7));
        assert_eq!(Number::parse("-7"), Number::I64(-7));
        assert_eq!(Number::parse("-0"), Number::F64(-0.0));
        assert_eq!(Number::parse("1.5"), Number::F64(1.5));
        assert_eq!(Number::parse("1E2"), Number::F64(100.0));
        assert_eq!(
            Number::parse("18446744073709551616"),
            Number::F64(18446744073709551616.0)
        );
        assert_eq!(Number::parse("1e999"), Number::OutOfRange);
        assert_eq!(
            Number::parse(&format!("1{}", "0".repeat(400))),
            Number::OutOfRange
        );
    }

    #[test]
    fn the_tree_keeps_order_duplicates_and_the_nesting_limit() {
        let node = Node::parse(r#" {"b":1,"a":"x\"y","b":[true,null]} "#);
        let Some(Node::Object(entries)) = node else {
            panic!("{node:?}");
        };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let mut node = Node::parse(&deep);
        let mut depth = 0;
        while let Some(Node::Array(items)) = node {
            depth += 1;
            node = items.into_iter().next();
        }
        assert!(matches!(node, Some(Node::TooDeep)));
        assert_eq!(depth, MAX_DEPTH - 1);
        assert!(Node::parse("{").is_none());
    }

    #[test]
    fn serde_reports_through_typed_methods() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u8,
            #[serde(default)]
            b: Option<bool>,
        }
        let decode = |text: &str| -> Fault {
            let node = Node::parse(text).unwrap_or(Node::Null);
            match <T as de::Deserialize>::deserialize(&node) {
                Ok(t) => panic!("{text}: decoded {t:?}"),
                Err(fault) => fault,
            }
        };
        assert_eq!(decode(r#"{"b":true}"#), Fault::MissingField("a"));
        assert_eq!(decode(r#"{"a":1,"c":1}"#), Fault::UnknownField);
        assert_eq!(decode(r#"{"a":1,"a":1}"#), Fault::DuplicateField);
        assert_eq!(decode(r#"{"a":300}"#), Fault::Expected("u8".into()));
        assert_eq!(decode(r#"{"a":"1"}"#), Fault::Expected("u8".into()));
        assert_eq!(decode(r#"{"a":1e999}"#), Fault::NumberOutOfRange);
        assert_eq!(one_of(&["a", "b"]), "`a` or `b`");
        assert_eq!(one_of(&["a", "b", "c"]), "one of `a`, `b`, `c`");
    }
}
