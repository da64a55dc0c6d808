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
//! Errors are chosen by our own code on the error path only ([`errors`]): codes our
//! `Deserialize` impls raise travel typed beside serde's error ([`errors::Coded`]); a message that
//! breaks a serde rule is decoded a second time by a deserializer whose error type is ours
//! ([`redecode`]), which names the rule; the field path comes from scanning the input up to the
//! error's position ([`path`]). serde's own wording is never passed through where it could
//! contain a client value (`invalid type: string "13800138000"`), and never parsed.
//!
//! # Layout
//!
//! - this file: the public functions and the frame shape (object or batch);
//! - [`client`]: one client message, `type` first or found by a scan;
//! - [`probe`]: what can be read of a message that failed;
//! - [`validate`]: limits serde does not check;
//! - [`errors`], [`redecode`], [`path`]: from a failure to the error the client sees.

mod client;
mod errors;
mod path;
mod probe;
mod redecode;
#[cfg(test)]
mod tests;
mod validate;

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

pub(crate) use self::errors::Coded;

use self::client::{resolve_tag, Fast, FastSeed, TaggedSeed};
use self::errors::{client_error, frame_error, invalid_json, server_error};
use self::probe::{probe, Probed};
use self::validate::validate;
use crate::error::{ErrorCode, ProtocolError};
use crate::wire::{ClientMessage, ClientRole, ServerMessage};
use crate::MAX_BATCH;

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
    // A code raised and never collected would be misread as this frame's; none should exist,
    // and clearing once per frame is cheaper than reasoning about every path that could leave one.
    drop(Coded::take());
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
            let batch: Batch<'_> = serde_json::from_str(frame).map_err(|e| frame_error(&e))?;
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
        .map_err(|e| invalid_json(&e))
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
                return Err(Coded::new(
                    ErrorCode::BatchTooLarge,
                    "a batch holds at most 256 messages",
                )
                .raise());
            }
            items.push(item);
        }
        Ok(Batch(items))
    }
}

// ---------------------------------------------------------------------------------------------
// Elements
// ---------------------------------------------------------------------------------------------

fn decode_client_element(text: &str, role: ClientRole) -> Result<ClientMessage, ProtocolError> {
    if first_byte(text) != Some(b'{') {
        return Err(not_an_object());
    }
    let msg = match parse(text, FastSeed { role }) {
        Ok(Fast::Message(msg)) => msg,
        Ok(Fast::TypeNotFirst(probe)) => {
            let tag = resolve_tag(&probe, role)?;
            parse(text, TaggedSeed { tag }).map_err(|e| client_error(text, &e, &probe, role))?
        }
        Err(e) => return Err(client_error(text, &e, &probe(text), role)),
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
            _ => server_error(text, &e, &probe),
        }
    })
}

fn is_server_type(name: &str) -> bool {
    ServerMessage::TYPE_NAMES.contains(&name)
}
