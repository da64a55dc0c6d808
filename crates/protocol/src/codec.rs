//! Frames to messages and back.
//!
//! # How decoding works
//!
//! 1. The first non-blank byte decides the shape: `{` is one message, `[` a batch, anything else
//!    is refused for the whole frame.
//! 2. A batch is split into borrowed element slices ([`RawValue`]) in one syntax-checking pass, so
//!    every element is decoded on its own and a bad one cannot spoil the others.
//! 3. Each element is parsed straight from its `&str` into the message struct. `type` is read
//!    first when it comes first (our encoder and every example put it there), which needs a
//!    single pass; when it does not, a scan finds it and a second pass decodes the body.
//! 4. What serde cannot express (lengths, ranges, the protocol version) is checked afterwards.
//!
//! Errors are translated from serde's into our codes on the error path only. serde errors carry
//! just a message and a line/column, so codes we raise inside deserialization ride in front of
//! the message ([`Coded`]), and the field path is recovered by scanning the input up to the
//! error's position ([`path_at`]). serde's own wording is never passed through where it could
//! contain a client value (`invalid type: string "13800138000"`).

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use serde::de::value::{BorrowedStrDeserializer, MapAccessDeserializer, StringDeserializer};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::error::Category;
use serde_json::value::RawValue;

use super::error::{ErrorCode, ProtocolError};
use super::wire::{
    AgentMessage, BotHandoff, BotResult, ClientMessage, ClientRole, ConversationRef, Customer,
    CustomerMessage, Hello, Ping, ServerMessage, SetStatus, Transfer, TransferTarget,
};
use super::{
    MAX_BATCH, MAX_ID_LEN, MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_SUMMARY_CHARS, MAX_TAGS,
    MAX_TEXT_CHARS, PROTOCOL_VERSION,
};

/// Decodes one client frame.
///
/// `Err` means the whole frame is unusable: invalid JSON (`invalid_json`), neither an object nor
/// an array or an empty array (`invalid_frame`), more than [`MAX_BATCH`] elements
/// (`batch_too_large`). Otherwise there is one result per message, in frame order; for a batch,
/// a failed element's error carries its `index`. Messages the `role` may not send fail with
/// `unknown_type`. Every error carries the message's `seq` when it could be read.
pub fn decode_client(
    frame: &str,
    role: ClientRole,
) -> Result<Vec<Result<ClientMessage, ProtocolError>>, ProtocolError> {
    decode_frame(frame, |text| decode_client_element(text, role))
}

/// Decodes one server frame (for clients and tests). Same contract as [`decode_client`];
/// unknown fields are ignored, an unknown `type` fails with `unknown_type` (clients should skip
/// such messages: new types may appear within a protocol version).
pub fn decode_server(
    frame: &str,
) -> Result<Vec<Result<ServerMessage, ProtocolError>>, ProtocolError> {
    decode_frame(frame, decode_server_element)
}

/// Encodes one server message as a frame.
#[must_use]
pub fn encode_server(msg: &ServerMessage) -> String {
    to_json(msg)
}

/// Encodes server messages as one batch frame. Send at most [`MAX_BATCH`]; never an empty one.
#[must_use]
pub fn encode_server_batch(msgs: &[ServerMessage]) -> String {
    to_json(msgs)
}

/// Encodes one client message as a frame (for clients and tests). Does not validate limits.
#[must_use]
pub fn encode_client(msg: &ClientMessage) -> String {
    to_json(msg)
}

/// Encodes client messages as one batch frame. Send 1 to [`MAX_BATCH`] of them.
#[must_use]
pub fn encode_client_batch(msgs: &[ClientMessage]) -> String {
    to_json(msgs)
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    // serde_json fails only on maps with non-string keys or a Serialize impl that errors; the wire
    // types have neither (non-finite floats become `null`, they do not fail).
    serde_json::to_string(value).expect("wire types always serialize")
}

// ---------------------------------------------------------------------------------------------
// Frame shape
// ---------------------------------------------------------------------------------------------

type Decoded<T> = Result<Vec<Result<T, ProtocolError>>, ProtocolError>;

fn decode_frame<T>(frame: &str, element: impl Fn(&str) -> Result<T, ProtocolError>) -> Decoded<T> {
    match first_byte(frame) {
        Some(b'{') => {
            let result = element(frame);
            if result.is_err() {
                // A single-object frame is parsed without a separate syntax pass, so an error may
                // be the first symptom of a broken frame; report the frame as what it is.
                check_syntax(frame)?;
            }
            Ok(vec![result])
        }
        Some(b'[') => {
            let batch: Batch<'_> = serde_json::from_str(frame).map_err(|e| translate(frame, &e))?;
            if batch.0.is_empty() {
                return Err(ProtocolError::new(
                    ErrorCode::InvalidFrame,
                    "a batch must hold at least one message",
                ));
            }
            Ok(batch
                .0
                .iter()
                .enumerate()
                .map(|(index, raw)| element(raw.get()).map_err(|e| e.with_index(index)))
                .collect())
        }
        _ => {
            check_syntax(frame)?;
            Err(ProtocolError::new(
                ErrorCode::InvalidFrame,
                "a frame must be a message object or an array of them",
            ))
        }
    }
}

/// The first byte that is not JSON whitespace.
fn first_byte(text: &str) -> Option<u8> {
    text.bytes()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

fn check_syntax(text: &str) -> Result<(), ProtocolError> {
    // IgnoredAny skips numbers without converting them, so `1e999` passes here and is reported
    // against its field instead.
    serde_json::from_str::<IgnoredAny>(text)
        .map(drop)
        .map_err(|e| translate(text, &e))
}

/// A batch's elements as borrowed slices, at most [`MAX_BATCH`] of them.
struct Batch<'a>(Vec<&'a RawValue>);

impl<'de> Deserialize<'de> for Batch<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(BatchVisitor)
    }
}

struct BatchVisitor;

impl<'de> Visitor<'de> for BatchVisitor {
    type Value = Batch<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of messages")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Batch<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            // Stop at the first element over the limit rather than scanning the rest of a
            // frame we are going to refuse anyway.
            if items.len() == MAX_BATCH {
                return Err(de::Error::custom(Coded::new(
                    ErrorCode::BatchTooLarge,
                    "a batch holds at most 256 messages",
                )));
            }
            items.push(item);
        }
        Ok(Batch(items))
    }
}

// ---------------------------------------------------------------------------------------------
// Client elements
// ---------------------------------------------------------------------------------------------

fn decode_client_element(text: &str, role: ClientRole) -> Result<ClientMessage, ProtocolError> {
    if first_byte(text) != Some(b'{') {
        return Err(not_an_object());
    }
    let msg = match parse(text, FastSeed { role }) {
        Ok(Fast::Message(msg)) => msg,
        Ok(Fast::TypeNotFirst(probe)) => {
            let tag = resolve_tag(&probe, role)?;
            parse(text, TaggedSeed { tag }).map_err(|e| element_error(text, &e, &probe))?
        }
        Err(e) => return Err(element_error(text, &e, &probe(text))),
    };
    validate(&msg).map_err(|e| e.with_seq(msg.seq()))?;
    Ok(msg)
}

fn not_an_object() -> ProtocolError {
    ProtocolError::new(ErrorCode::InvalidFrame, "a message must be a JSON object")
}

fn parse<'a, S: DeserializeSeed<'a>>(
    text: &'a str,
    seed: S,
) -> Result<S::Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

/// The client message types. Kept apart from [`ClientMessage`] so `type` can be read before
/// the body exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
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

    fn name(self) -> &'static str {
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

    fn from_name(name: &str) -> Option<Tag> {
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
enum Fast {
    Message(ClientMessage),
    /// `type` was not the first field; the object was scanned for it instead.
    TypeNotFirst(Probe),
}

struct FastSeed {
    role: ClientRole,
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
        let tag = tag.check_role(self.role).map_err(de::Error::custom)?;
        body(tag, BodyMap::new(map, true)).map(Fast::Message)
    }
}

/// Second pass, once a scan found `type` somewhere other than first.
struct TaggedSeed {
    tag: Tag,
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
enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Key<'_> {
    fn as_str(&self) -> &str {
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
                    de::Error::custom(Coded::new(ErrorCode::UnknownType, "unknown message type"))
                })
            }
        }

        d.deserialize_str(TagVisitor)
    }
}

fn resolve_tag(probe: &Probe, role: ClientRole) -> Result<Tag, ProtocolError> {
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

// ---------------------------------------------------------------------------------------------
// Probing: what can be read of a message that failed to decode
// ---------------------------------------------------------------------------------------------

/// The few top-level fields worth knowing even when the message is bad: `type` to pick a body,
/// `seq` so the error can answer it, `protocol` to report a version mismatch as such.
#[derive(Debug, Default)]
struct Probe {
    kind: Option<Probed>,
    seq: Option<u64>,
    protocol: Option<u64>,
}

impl Probe {
    fn entries<'de, A: MapAccess<'de>>(&mut self, map: &mut A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key<'de>>()? {
            self.entry(key.as_str(), map)?;
        }
        Ok(())
    }

    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
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

    fn annotate(&self, mut error: ProtocolError) -> ProtocolError {
        error.seq = error.seq.or(self.seq);
        error
    }
}

/// Reads whatever of a message object it can. It records fields as it goes, so a syntax error
/// half-way still leaves what came before.
fn probe(text: &str) -> Probe {
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
enum Probed {
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

// ---------------------------------------------------------------------------------------------
// Server elements
// ---------------------------------------------------------------------------------------------

fn decode_server_element(text: &str) -> Result<ServerMessage, ProtocolError> {
    if first_byte(text) != Some(b'{') {
        return Err(not_an_object());
    }
    serde_json::from_str(text).map_err(|e| {
        let probe = probe(text);
        match probe.kind {
            Some(Probed::Name(name)) if !name.is_some_and(is_server_type) => probe.annotate(
                ProtocolError::new(ErrorCode::UnknownType, "unknown message type"),
            ),
            _ => probe.annotate(translate(text, &e)),
        }
    })
}

fn is_server_type(name: &str) -> bool {
    ServerMessage::TYPE_NAMES.contains(&name)
}

// ---------------------------------------------------------------------------------------------
// Validation beyond what serde checks
// ---------------------------------------------------------------------------------------------

/// What is wrong with a string, before we know the field's path.
enum Problem {
    Empty,
    TooLong { limit: usize, unit: &'static str },
}

fn check_id(value: &str) -> Result<(), Problem> {
    if value.is_empty() {
        Err(Problem::Empty)
    } else if value.len() > MAX_ID_LEN {
        Err(Problem::TooLong {
            limit: MAX_ID_LEN,
            unit: "bytes",
        })
    } else {
        Ok(())
    }
}

fn check_chars(value: &str, limit: usize) -> Result<(), Problem> {
    if value.is_empty() {
        return Err(Problem::Empty);
    }
    // A character is at least one byte, so only a string with more bytes than the limit can have
    // more characters: the common short message is never counted.
    if value.len() > limit && value.chars().count() > limit {
        return Err(Problem::TooLong {
            limit,
            unit: "characters",
        });
    }
    Ok(())
}

fn check_customer(customer: &Customer) -> Result<(), ProtocolError> {
    at("customer.id", check_id(&customer.id))?;
    if customer.tags.len() > MAX_TAGS {
        return Err(ProtocolError::new(
            ErrorCode::FieldTooLong,
            format!("field `customer.tags` has more than {MAX_TAGS} entries"),
        ));
    }
    for (i, tag) in customer.tags.iter().enumerate() {
        check_id(tag).or_else(|p| at(&format!("customer.tags[{i}]"), Err(p)))?;
    }
    if let Some(name) = &customer.name {
        at("customer.name", check_chars(name, MAX_NAME_CHARS))?;
    }
    Ok(())
}

fn at(path: &str, check: Result<(), Problem>) -> Result<(), ProtocolError> {
    check.map_err(|problem| match problem {
        Problem::Empty => ProtocolError::new(
            ErrorCode::InvalidField,
            format!("field `{path}` must not be empty"),
        ),
        Problem::TooLong { limit, unit } => ProtocolError::new(
            ErrorCode::FieldTooLong,
            format!("field `{path}` is longer than {limit} {unit}"),
        ),
    })
}

fn validate(msg: &ClientMessage) -> Result<(), ProtocolError> {
    match msg {
        ClientMessage::Hello(m) => {
            if m.protocol != PROTOCOL_VERSION {
                return Err(unsupported_version());
            }
            at("client", check_id(&m.client))?;
            if let Some(resume) = &m.resume {
                at("resume.session", check_id(&resume.session))?;
            }
        }
        ClientMessage::CustomerMessage(m) => {
            at("conversation", check_id(&m.conversation))?;
            at("message_id", check_id(&m.message_id))?;
            at("text", check_chars(&m.text, MAX_TEXT_CHARS))?;
            if let Some(customer) = &m.customer {
                check_customer(customer)?;
            }
            if let Some(channel) = &m.channel {
                at("channel", check_id(channel))?;
            }
            if let Some(language) = &m.language {
                at("language", check_id(language))?;
            }
            if let Some(intent) = &m.intent {
                at("intent", check_id(intent))?;
            }
            // Also refuses NaN and infinities (a JSON number too large for f32 arrives as one).
            if m.sentiment.is_some_and(|s| !(-1.0..=1.0).contains(&s)) {
                return Err(ProtocolError::new(
                    ErrorCode::InvalidField,
                    "field `sentiment` must be between -1 and 1",
                ));
            }
        }
        ClientMessage::CustomerLeft(m)
        | ClientMessage::Close(m)
        | ClientMessage::Accept(m)
        | ClientMessage::Reject(m)
        | ClientMessage::HandBack(m) => at("conversation", check_id(&m.conversation))?,
        ClientMessage::Ping(_) | ClientMessage::Status(_) => {}
        ClientMessage::Message(m) => {
            at("conversation", check_id(&m.conversation))?;
            at("message_id", check_id(&m.message_id))?;
            at("text", check_chars(&m.text, MAX_TEXT_CHARS))?;
        }
        ClientMessage::Transfer(m) => {
            at("conversation", check_id(&m.conversation))?;
            match &m.target {
                TransferTarget::Queue(queue) => at("to_queue", check_id(queue))?,
                TransferTarget::Agent(agent) => at("to_agent", check_id(agent))?,
            }
        }
        ClientMessage::BotResult(m) => at("conversation", check_id(&m.conversation))?,
        ClientMessage::BotHandoff(m) => {
            at("conversation", check_id(&m.conversation))?;
            at("reason", check_chars(&m.reason, MAX_REASON_CHARS))?;
            if let Some(summary) = &m.summary {
                at("summary", check_chars(summary, MAX_SUMMARY_CHARS))?;
            }
        }
    }
    Ok(())
}

fn unsupported_version() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::UnsupportedVersion,
        format!("unsupported protocol version; this gateway speaks {PROTOCOL_VERSION}"),
    )
}

// ---------------------------------------------------------------------------------------------
// Error translation
// ---------------------------------------------------------------------------------------------

/// A code raised inside deserialization. serde errors hold only a message, so the code travels
/// in front of it behind a prefix no serde message starts with, and [`translate`] takes it out.
#[derive(Debug)]
pub(super) struct Coded {
    code: ErrorCode,
    message: Cow<'static, str>,
}

const CODED_PREFIX: &str = "\u{1}switchboard:";

impl Coded {
    pub(super) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Coded {
            code,
            message: message.into(),
        }
    }

    fn into_error(self) -> ProtocolError {
        ProtocolError::new(self.code, self.message)
    }

    fn parse(message: &str) -> Option<ProtocolError> {
        let (code, text) = message.strip_prefix(CODED_PREFIX)?.split_once('|')?;
        Some(ProtocolError::new(ErrorCode::from_name(code)?, text))
    }
}

impl fmt::Display for Coded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CODED_PREFIX}{}|{}", self.code.as_str(), self.message)
    }
}

fn element_error(text: &str, error: &serde_json::Error, probe: &Probe) -> ProtocolError {
    // A hello for another version fails on whatever fields that version added; what the client
    // needs to hear is the version mismatch.
    if probe.kind == Some(Probed::Name(Some("hello")))
        && probe
            .protocol
            .is_some_and(|p| p != u64::from(PROTOCOL_VERSION))
    {
        return probe.annotate(unsupported_version());
    }
    // serde_json reports a few value problems as syntax errors: a number beyond f64's range, a
    // number where an enum's name belongs. If the text is valid JSON, that is what they are.
    if error.classify() == Category::Syntax && serde_json::from_str::<IgnoredAny>(text).is_ok() {
        let what = if raw_message(error).starts_with("number out of range") {
            "number out of range"
        } else {
            "wrong type"
        };
        let path = path_at(&text.as_bytes()[..error_offset(text, error)]);
        return probe.annotate(ProtocolError::new(
            ErrorCode::InvalidField,
            format!("field `{path}`: {what}"),
        ));
    }
    probe.annotate(translate(text, error))
}

/// serde_json's message without the " at line L column C" it appends.
fn raw_message(error: &serde_json::Error) -> String {
    let mut message = error.to_string();
    if error.line() != 0 {
        let suffix = format!(" at line {} column {}", error.line(), error.column());
        if message.ends_with(&suffix) {
            message.truncate(message.len() - suffix.len());
        }
    }
    message
}

/// Maps a serde_json error on `text` to a code and a message that names the field but never
/// repeats a value.
fn translate(text: &str, error: &serde_json::Error) -> ProtocolError {
    let raw = raw_message(error);
    if let Some(coded) = Coded::parse(&raw) {
        return coded;
    }
    match error.classify() {
        // serde_json's syntax messages are fixed phrases ("expected `,` or `}`"), never input.
        Category::Syntax | Category::Eof | Category::Io => ProtocolError::new(
            ErrorCode::InvalidJson,
            format!(
                "invalid JSON: {raw} at line {} column {}",
                error.line(),
                error.column()
            ),
        ),
        Category::Data => data_error(&raw, path_at(&text.as_bytes()[..error_offset(text, error)])),
    }
}

/// serde's data errors name the field only for missing, unknown and duplicate fields; the value
/// errors name neither field nor anything safe to repeat, except what was expected.
fn data_error(raw: &str, path: String) -> ProtocolError {
    if let Some(name) = between(raw, "missing field `", '`') {
        let field = if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return ProtocolError::new(ErrorCode::MissingField, format!("missing field `{field}`"));
    }
    let message = if raw.starts_with("unknown field `") {
        format!("unknown field `{path}`")
    } else if raw.starts_with("duplicate field `") {
        format!("duplicate field `{path}`")
    } else if let Some(expected) = expected_part(raw) {
        format!("field `{path}`: expected {expected}")
    } else {
        format!("field `{path}` is invalid")
    };
    ProtocolError::new(ErrorCode::InvalidField, message)
}

fn between<'a>(text: &'a str, prefix: &str, end: char) -> Option<&'a str> {
    let rest = text.strip_prefix(prefix)?;
    rest.find(end).map(|i| &rest[..i])
}

/// The "expected …" tail of an `invalid type`, `invalid value` or `unknown variant` message.
/// It comes from our type definitions; what precedes it may quote the client's value.
fn expected_part(raw: &str) -> Option<&str> {
    const VALUE_ERRORS: [&str; 4] = [
        "invalid type: ",
        "invalid value: ",
        "invalid length ",
        "unknown variant `",
    ];
    if !VALUE_ERRORS.iter().any(|p| raw.starts_with(p)) {
        return None;
    }
    // The last occurrence: a quoted client value may itself contain ", expected ".
    let expected = &raw[raw.rfind(", expected ")? + ", expected ".len()..];
    // Say it in JSON's terms: Rust type names are not part of the protocol.
    Some(match expected {
        "u8" => "an integer from 0 to 255",
        "u32" => "an integer from 0 to 4294967295",
        "u64" => "an integer from 0 to 18446744073709551615",
        "usize" => "a non-negative integer",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        _ if expected.starts_with("struct ") || expected.starts_with("map") => "an object",
        _ => expected,
    })
}

/// The byte offset of an error's line/column in `text` (serde_json counts columns in bytes).
fn error_offset(text: &str, error: &serde_json::Error) -> usize {
    if error.line() == 0 {
        return text.len();
    }
    // Line n starts after the (n-1)th newline.
    let line_start = match error.line() - 1 {
        0 => 0,
        newlines => text
            .match_indices('\n')
            .nth(newlines - 1)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    (line_start + error.column()).min(text.len())
}

/// One open container while scanning towards an error.
enum Open<'a> {
    Object {
        key: Option<&'a [u8]>,
        in_value: bool,
    },
    Array {
        index: usize,
    },
}

/// The field path (`customer.tags[2]`) at the end of `prefix`, a prefix of a JSON text that
/// parsed without syntax errors. Keys that do not look like field names are shown as `?`: a
/// client that puts data in keys must not see it echoed.
fn path_at(prefix: &[u8]) -> String {
    let mut stack: Vec<Open<'_>> = Vec::new();
    let mut i = 0;
    while i < prefix.len() {
        match prefix[i] {
            b'"' => {
                let start = i + 1;
                let mut end = start;
                let mut escaped = false;
                while end < prefix.len() && (escaped || prefix[end] != b'"') {
                    escaped = !escaped && prefix[end] == b'\\';
                    end += 1;
                }
                if let Some(Open::Object {
                    key,
                    in_value: false,
                }) = stack.last_mut()
                {
                    *key = Some(&prefix[start..end]);
                }
                i = end;
            }
            b'{' => stack.push(Open::Object {
                key: None,
                in_value: false,
            }),
            b'[' => stack.push(Open::Array { index: 0 }),
            b'}' | b']' => {
                stack.pop();
            }
            b':' => {
                if let Some(Open::Object { in_value, .. }) = stack.last_mut() {
                    *in_value = true;
                }
            }
            b',' => match stack.last_mut() {
                Some(Open::Object { key, in_value }) => {
                    *key = None;
                    *in_value = false;
                }
                Some(Open::Array { index }) => *index += 1,
                None => {}
            },
            _ => {}
        }
        i += 1;
    }
    let mut path = String::new();
    for open in &stack {
        match open {
            Open::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(field_name(key));
            }
            Open::Object { key: None, .. } => {}
            Open::Array { index } => {
                // Writing to a String cannot fail.
                let _ = write!(path, "[{index}]");
            }
        }
    }
    path
}

fn field_name(key: &[u8]) -> &str {
    let looks_like_a_name = (1..=64).contains(&key.len())
        && (key[0].is_ascii_alphabetic() || key[0] == b'_')
        && key.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_');
    match std::str::from_utf8(key) {
        Ok(name) if looks_like_a_name => name,
        _ => "?",
    }
}
