//! Decoding one client message: `type` first when it comes first (one pass), otherwise found by
//! a scan and then the body decoded in a second pass. The body structs are serde's derived
//! impls, fed the object minus its `type` entry.

use std::fmt;

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::errors::Coded;
use super::probe::{Probe, Probed};
use crate::error::{ErrorCode, ProtocolError};
use crate::wire::{
    AgentMessage, BotHandoff, BotResult, ClientMessage, ClientRole, ConversationRef,
    CustomerMessage, Hello, Ping, SetStatus, Transfer,
};

/// The client message types. Kept apart from [`ClientMessage`] so `type` can be read before
/// the body exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tag {
    Hello,
    CustomerMessage,
    CustomerLeft,
    Close,
    Ping,
    Status,
    Accept,
    Reject,
    Message,
    Transfer,
    BotResult,
    BotHandoff,
    HandBack,
}

impl Tag {
    const ALL: [Tag; 13] = [
        Tag::Hello,
        Tag::CustomerMessage,
        Tag::CustomerLeft,
        Tag::Close,
        Tag::Ping,
        Tag::Status,
        Tag::Accept,
        Tag::Reject,
        Tag::Message,
        Tag::Transfer,
        Tag::BotResult,
        Tag::BotHandoff,
        Tag::HandBack,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Tag::Hello => "hello",
            Tag::CustomerMessage => "customer_message",
            Tag::CustomerLeft => "customer_left",
            Tag::Close => "close",
            Tag::Ping => "ping",
            Tag::Status => "status",
            Tag::Accept => "accept",
            Tag::Reject => "reject",
            Tag::Message => "message",
            Tag::Transfer => "transfer",
            Tag::BotResult => "bot_result",
            Tag::BotHandoff => "bot_handoff",
            Tag::HandBack => "hand_back",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Tag> {
        Tag::ALL.into_iter().find(|tag| tag.name() == name)
    }

    fn allowed_for(self, role: ClientRole) -> bool {
        match self {
            Tag::Hello | Tag::Close | Tag::Ping => true,
            Tag::CustomerMessage | Tag::CustomerLeft => role == ClientRole::Connector,
            Tag::Status
            | Tag::Accept
            | Tag::Reject
            | Tag::Message
            | Tag::Transfer
            | Tag::BotResult
            | Tag::BotHandoff
            | Tag::HandBack => role == ClientRole::Agent,
        }
    }

    fn check_role(self, role: ClientRole) -> Result<Tag, Coded> {
        if self.allowed_for(role) {
            Ok(self)
        } else {
            Err(Coded::new(
                ErrorCode::UnknownType,
                format!("`{}` is not sent by {role}s", self.name()),
            ))
        }
    }
}

/// Outcome of the single-pass attempt.
// Lives on the stack for one call; boxing the message would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub(super) enum Fast {
    Message(ClientMessage),
    /// `type` was not the first field; the object was scanned for it instead.
    TypeNotFirst(Probe),
}

pub(super) struct FastSeed {
    pub(super) role: ClientRole,
}

impl<'de> DeserializeSeed<'de> for FastSeed {
    type Value = Fast;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Fast, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FastSeed {
    type Value = Fast;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fast, A::Error> {
        let first = map.next_key::<Key<'de>>()?;
        if first.as_ref().map(Key::as_str) != Some("type") {
            // The map cannot be rewound; scan the rest for `type` (and `seq`, for errors) so the
            // second pass knows which body to decode.
            let mut probe = Probe::default();
            if let Some(key) = first {
                probe.entry(key.as_str(), &mut map)?;
            }
            probe.entries(&mut map)?;
            return Ok(Fast::TypeNotFirst(probe));
        }
        let tag = map.next_value::<TagValue>()?.0;
        let tag = tag.check_role(self.role).map_err(Coded::raise)?;
        body(tag, BodyMap::new(map, true)).map(Fast::Message)
    }
}

/// Second pass, once a scan found `type` somewhere other than first.
pub(super) struct TaggedSeed {
    pub(super) tag: Tag,
}

impl<'de> DeserializeSeed<'de> for TaggedSeed {
    type Value = ClientMessage;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ClientMessage, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TaggedSeed {
    type Value = ClientMessage;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ClientMessage, A::Error> {
        body(self.tag, BodyMap::new(map, false))
    }
}

/// Decodes the rest of the object as the body of `tag`.
fn body<'de, A: MapAccess<'de>>(tag: Tag, map: BodyMap<A>) -> Result<ClientMessage, A::Error> {
    let d = MapAccessDeserializer::new(map);
    Ok(match tag {
        Tag::Hello => ClientMessage::Hello(Hello::deserialize(d)?),
        Tag::CustomerMessage => ClientMessage::CustomerMessage(CustomerMessage::deserialize(d)?),
        Tag::CustomerLeft => ClientMessage::CustomerLeft(ConversationRef::deserialize(d)?),
        Tag::Close => ClientMessage::Close(ConversationRef::deserialize(d)?),
        Tag::Ping => ClientMessage::Ping(Ping::deserialize(d)?),
        Tag::Status => ClientMessage::Status(SetStatus::deserialize(d)?),
        Tag::Accept => ClientMessage::Accept(ConversationRef::deserialize(d)?),
        Tag::Reject => ClientMessage::Reject(ConversationRef::deserialize(d)?),
        Tag::Message => ClientMessage::Message(AgentMessage::deserialize(d)?),
        Tag::Transfer => ClientMessage::Transfer(Transfer::deserialize(d)?),
        Tag::BotResult => ClientMessage::BotResult(BotResult::deserialize(d)?),
        Tag::BotHandoff => ClientMessage::BotHandoff(BotHandoff::deserialize(d)?),
        Tag::HandBack => ClientMessage::HandBack(ConversationRef::deserialize(d)?),
    })
}

/// The message object minus its `type` entry, so the body structs can deny unknown fields
/// without listing `type`. A second `type` is a duplicate field.
struct BodyMap<A> {
    inner: A,
    type_seen: bool,
}

impl<A> BodyMap<A> {
    fn new(inner: A, type_seen: bool) -> Self {
        BodyMap { inner, type_seen }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for BodyMap<A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        loop {
            let Some(key) = self.inner.next_key::<Key<'de>>()? else {
                return Ok(None);
            };
            if key.as_str() != "type" {
                return match key {
                    Key::Borrowed(k) => seed.deserialize(BorrowedStrDeserializer::new(k)),
                    Key::Owned(k) => seed.deserialize(StringDeserializer::new(k)),
                }
                .map(Some);
            }
            if self.type_seen {
                return Err(de::Error::duplicate_field("type"));
            }
            self.type_seen = true;
            self.inner.next_value::<IgnoredAny>()?;
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.inner.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// An object key, borrowed from the frame unless it contained escapes.
#[derive(Debug)]
pub(super) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    pub(super) fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(k) => k,
            Key::Owned(k) => k,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }

        d.deserialize_str(KeyVisitor)
    }
}

/// The value of `type`, resolved without allocating.
struct TagValue(Tag);

impl<'de> Deserialize<'de> for TagValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TagVisitor;

        impl Visitor<'_> for TagVisitor {
            type Value = TagValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a message type name")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<TagValue, E> {
                Tag::from_name(v).map(TagValue).ok_or_else(|| {
                    Coded::new(ErrorCode::UnknownType, "unknown message type").raise()
                })
            }
        }

        d.deserialize_str(TagVisitor)
    }
}

pub(super) fn resolve_tag(probe: &Probe, role: ClientRole) -> Result<Tag, ProtocolError> {
    let error = match probe.kind {
        Some(Probed::Name(Some(name))) => match Tag::from_name(name) {
            Some(tag) => match tag.check_role(role) {
                Ok(tag) => return Ok(tag),
                Err(coded) => coded.into_error(),
            },
            // A server type name: not something a client sends.
            None => ProtocolError::new(ErrorCode::UnknownType, "unknown message type"),
        },
        Some(Probed::Name(None)) => {
            ProtocolError::new(ErrorCode::UnknownType, "unknown message type")
        }
        Some(_) => ProtocolError::new(
            ErrorCode::InvalidField,
            "field `type`: expected a message type name",
        ),
        None => ProtocolError::new(ErrorCode::MissingField, "missing field `type`"),
    };
    Err(probe.annotate(error))
}
