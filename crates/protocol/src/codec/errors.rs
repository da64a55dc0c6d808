//! From a failed decode to the error the client sees.
//!
//! Every code is chosen by our own code: [`Coded`] carries the ones our `Deserialize` impls
//! raise, typed; a text that fails our syntax check is `invalid_json`; anything else is decoded
//! again by [`super::redecode`], which names the broken rule as a typed [`Fault`]. serde_json's
//! message text is never read to choose a code or a message; its line and column only locate
//! the field ([`path_at`]), and its syntax description is passed on verbatim inside
//! `invalid_json` messages, where it never holds a client value.

use std::borrow::Cow;
use std::cell::Cell;

use serde::de::{self, DeserializeSeed};

use super::check_syntax;
use super::client::{resolve_tag, Fast, FastSeed, TaggedSeed};
use super::path::{error_offset, path_at};
use super::probe::{Probe, Probed};
use super::redecode::{Fault, Node};
use super::validate::unsupported_version;
use crate::error::{ErrorCode, ProtocolError};
use crate::wire::{ClientRole, ServerMessage};
use crate::PROTOCOL_VERSION;

/// A code raised inside deserialization, by our own `Deserialize` impls and visitors.
#[derive(Debug)]
pub(crate) struct Coded {
    code: ErrorCode,
    message: Cow<'static, str>,
}

thread_local! {
    /// The code that aborted the decode running on this thread. serde's error types carry only
    /// a message, so the typed code waits here for the codec, which takes it on the error path.
    /// One slot is enough: a raised code aborts the decode (nothing in the wire types catches
    /// an error and carries on), and the codec takes it before the next decode can raise.
    static RAISED: Cell<Option<Coded>> = const { Cell::new(None) };
}

impl Coded {
    pub(crate) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Coded {
            code,
            message: message.into(),
        }
    }

    /// Aborts the decode with this code: returns the deserializer's error for `?` and leaves
    /// the code for [`Coded::take`].
    pub(crate) fn raise<E: de::Error>(self) -> E {
        let error = E::custom(&self.message);
        RAISED.set(Some(self));
        error
    }

    /// The code raised since the last take, if any.
    pub(super) fn take() -> Option<ProtocolError> {
        RAISED.take().map(Coded::into_error)
    }

    pub(super) fn into_error(self) -> ProtocolError {
        ProtocolError::new(self.code, self.message)
    }
}

/// A frame that serde_json could not read: a code we raised (`batch_too_large`), else
/// `invalid_json`.
pub(super) fn frame_error(error: &serde_json::Error) -> ProtocolError {
    Coded::take().unwrap_or_else(|| invalid_json(error))
}

/// `invalid_json`, with serde_json's description of the syntax error and where it is. Syntax
/// descriptions are fixed phrases ("expected `,` or `}`"), never input.
pub(super) fn invalid_json(error: &serde_json::Error) -> ProtocolError {
    // serde_json appends the position itself when it knows one.
    let message = if error.line() == 0 {
        format!("invalid JSON: {error} at line 0 column 0")
    } else {
        format!("invalid JSON: {error}")
    };
    ProtocolError::new(ErrorCode::InvalidJson, message)
}

/// Why a client message failed to decode.
pub(super) fn client_error(
    text: &str,
    error: &serde_json::Error,
    probe: &Probe,
    role: ClientRole,
) -> ProtocolError {
    // A hello for another version fails on whatever fields that version added; what the client
    // needs to hear is the version mismatch.
    if probe.kind == Some(Probed::Name(Some("hello")))
        && probe
            .protocol
            .is_some_and(|p| p != u64::from(PROTOCOL_VERSION))
    {
        return probe.annotate(unsupported_version());
    }
    let error = decode_error(text, error, |node| redecode_client(node, role))
        .unwrap_or_else(|(fault, path)| client_fault(fault, &path));
    probe.annotate(error)
}

/// Why a server message failed to decode (its `type` is known: the caller checked).
pub(super) fn server_error(text: &str, error: &serde_json::Error, probe: &Probe) -> ProtocolError {
    let error = decode_error(text, error, redecode_server).unwrap_or_else(|(fault, path)| {
        match fault {
            // serde_json calls these syntax errors; a client decoding our frames sees them so.
            Fault::NumberOutOfRange | Fault::WrongType => invalid_json(error),
            fault => client_fault(fault, &path),
        }
    });
    probe.annotate(error)
}

/// The error when it is settled without a fault (a raised code, invalid JSON), else the fault
/// the second decode found with the path where the first one stopped.
fn decode_error(
    text: &str,
    error: &serde_json::Error,
    redecode: impl FnOnce(&Node<'_>) -> Result<(), Fault>,
) -> Result<ProtocolError, (Fault, String)> {
    if let Some(coded) = Coded::take() {
        return Ok(coded);
    }
    // Only a single-object frame gets here with broken JSON, and `decode_frame` then reports the
    // whole frame; batch elements passed the syntax check already.
    if check_syntax(text).is_err() {
        return Ok(invalid_json(error));
    }
    let fault = match Node::parse(text) {
        Some(node) => redecode(&node).err(),
        None => Some(Fault::WrongType),
    };
    if let Some(coded) = Coded::take() {
        return Ok(coded);
    }
    let path = path_at(&text.as_bytes()[..error_offset(text, error)]);
    // Both passes read the same text with the same impls; if only the first failed, say no
    // more than that the field is invalid.
    Err((fault.unwrap_or(Fault::Other), path))
}

fn redecode_client(node: &Node<'_>, role: ClientRole) -> Result<(), Fault> {
    let first = FastSeed { role }.deserialize(node)?;
    if let Fast::TypeNotFirst(probe) = first {
        // The first pass resolved this tag already; a failure here is not a decode fault.
        let Ok(tag) = resolve_tag(&probe, role) else {
            return Err(Fault::Other);
        };
        TaggedSeed { tag }.deserialize(node)?;
    }
    Ok(())
}

fn redecode_server(node: &Node<'_>) -> Result<(), Fault> {
    <ServerMessage as serde::Deserialize>::deserialize(node).map(drop)
}

/// The client-facing error for a fault at `path`: the field is named, the value never repeated.
fn client_fault(fault: Fault, path: &str) -> ProtocolError {
    let (code, message) = match fault {
        Fault::MissingField(name) if path.is_empty() => {
            (ErrorCode::MissingField, format!("missing field `{name}`"))
        }
        Fault::MissingField(name) => (
            ErrorCode::MissingField,
            format!("missing field `{path}.{name}`"),
        ),
        Fault::UnknownField => (ErrorCode::InvalidField, format!("unknown field `{path}`")),
        Fault::DuplicateField => (ErrorCode::InvalidField, format!("duplicate field `{path}`")),
        Fault::Expected(what) => (
            ErrorCode::InvalidField,
            format!("field `{path}`: expected {}", in_json_terms(&what)),
        ),
        Fault::NumberOutOfRange => (
            ErrorCode::InvalidField,
            format!("field `{path}`: number out of range"),
        ),
        Fault::WrongType => (
            ErrorCode::InvalidField,
            format!("field `{path}`: wrong type"),
        ),
        Fault::Other => (
            ErrorCode::InvalidField,
            format!("field `{path}` is invalid"),
        ),
    };
    ProtocolError::new(code, message)
}

/// What a type expects, said in JSON's terms: Rust type names are not part of the protocol.
fn in_json_terms(expected: &str) -> &str {
    match expected {
        "u8" => "an integer from 0 to 255",
        "u32" => "an integer from 0 to 4294967295",
        "u64" => "an integer from 0 to 18446744073709551615",
        "usize" => "a non-negative integer",
        "f32" | "f64" => "a number",
        "a sequence" => "an array",
        _ if expected.starts_with("struct ") || expected.starts_with("map") => "an object",
        _ => expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(fault: Fault, path: &str) -> (ErrorCode, String) {
        let e = client_fault(fault, path);
        (e.code, e.message)
    }

    #[test]
    fn each_fault_has_its_code_and_message() {
        use ErrorCode::{InvalidField, MissingField};
        let cases = [
            (
                Fault::MissingField("id"),
                "",
                MissingField,
                "missing field `id`",
            ),
            (
                Fault::MissingField("id"),
                "customer",
                MissingField,
                "missing field `customer.id`",
            ),
            (
                Fault::UnknownField,
                "customer.x",
                InvalidField,
                "unknown field `customer.x`",
            ),
            (
                Fault::DuplicateField,
                "seq",
                InvalidField,
                "duplicate field `seq`",
            ),
            (
                Fault::Expected("u8".into()),
                "customer.vip_level",
                InvalidField,
                "field `customer.vip_level`: expected an integer from 0 to 255",
            ),
            (
                Fault::Expected("a sequence".into()),
                "customer.tags",
                InvalidField,
                "field `customer.tags`: expected an array",
            ),
            (
                Fault::Expected("struct CustomerIn".into()),
                "customer",
                InvalidField,
                "field `customer`: expected an object",
            ),
            (
                Fault::Expected("`standard` or `vip`".into()),
                "customer.tier",
                InvalidField,
                "field `customer.tier`: expected `standard` or `vip`",
            ),
            (
                Fault::NumberOutOfRange,
                "seq",
                InvalidField,
                "field `seq`: number out of range",
            ),
            (
                Fault::WrongType,
                "status",
                InvalidField,
                "field `status`: wrong type",
            ),
            (Fault::Other, "x", InvalidField, "field `x` is invalid"),
        ];
        for (fault, path, code, message) in cases {
            assert_eq!(
                client(fault.clone(), path),
                (code, message.to_owned()),
                "{fault:?}"
            );
        }
    }

    #[test]
    fn raised_codes_are_taken_once() {
        let error: serde_json::Error =
            Coded::new(ErrorCode::UnknownType, "unknown message type").raise();
        assert!(error.is_data());
        let taken = Coded::take().map(|e| (e.code, e.message));
        assert_eq!(
            taken,
            Some((ErrorCode::UnknownType, "unknown message type".to_owned()))
        );
        assert_eq!(Coded::take(), None);
    }

    #[test]
    fn invalid_json_keeps_serde_json_position() {
        let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>("{\"a\" 1}") else {
            panic!("parsed");
        };
        let e = invalid_json(&error);
        assert_eq!(e.code, ErrorCode::InvalidJson);
        assert!(e.message.starts_with("invalid JSON: "), "{}", e.message);
        assert!(e.message.ends_with(" at line 1 column 6"), "{}", e.message);
    }
}
