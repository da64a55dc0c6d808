//! What can be read of a message that failed to decode: `type`, `seq` and `protocol`.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::client::{Key, Tag};
use crate::error::ProtocolError;
use crate::wire::ServerMessage;

/// The few top-level fields worth knowing even when the message is bad: `type` to pick a body,
/// `seq` so the error can answer it, `protocol` to report a version mismatch as such.
#[derive(Debug, Default)]
pub(super) struct Probe {
    pub(super) kind: Option<Probed>,
    pub(super) seq: Option<u64>,
    pub(super) protocol: Option<u64>,
}

impl Probe {
    pub(super) fn entries<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            self.entry(key.as_str(), map)?;
        }
        Ok(())
    }

    pub(super) fn entry<'de, A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<(), A::Error> {
        // The first occurrence wins, as in the decoding pass that follows.
        match key {
            "type" if self.kind.is_none() => self.kind = Some(map.next_value()?),
            "seq" if self.seq.is_none() => self.seq = map.next_value::<Probed>()?.number(),
            "protocol" if self.protocol.is_none() => {
                self.protocol = map.next_value::<Probed>()?.number()
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    pub(super) fn annotate(&self, mut error: ProtocolError) -> ProtocolError {
        error.seq = error.seq.or(self.seq);
        error
    }
}

/// Reads whatever of a message object it can. It records fields as it goes, so a syntax error
/// half-way still leaves what came before.
pub(super) fn probe(text: &str) -> Probe {
    let mut probe = Probe::default();
    let mut de = serde_json::Deserializer::from_str(text);
    // An error only means the scan stopped early; what was read so far is still good.
    let _ = ProbeSeed(&mut probe).deserialize(&mut de);
    probe
}

struct ProbeSeed<'p>(&'p mut Probe);

impl<'de> DeserializeSeed<'de> for ProbeSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ProbeSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.entries(&mut map)
    }
}

/// A probed value, classified without keeping anything the client wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Probed {
    Number(u64),
    /// A string: the canonical spelling when it is a known message type name (client or server).
    Name(Option<&'static str>),
    Other,
}

impl Probed {
    fn number(self) -> Option<u64> {
        match self {
            Probed::Number(n) => Some(n),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Probed {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ProbedVisitor)
    }
}

struct ProbedVisitor;

impl<'de> Visitor<'de> for ProbedVisitor {
    type Value = Probed;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Probed, E> {
        Ok(Probed::Number(v))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Probed, E> {
        Ok(Probed::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Probed, E> {
        Ok(Probed::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Probed, E> {
        Ok(Probed::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Probed, E> {
        Ok(Probed::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Probed, E> {
        let known = Tag::from_name(v).map(Tag::name).or_else(|| {
            ServerMessage::TYPE_NAMES
                .into_iter()
                .find(|name| *name == v)
        });
        Ok(Probed::Name(known))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Probed, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Probed::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probed, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Probed::Other)
    }
}
