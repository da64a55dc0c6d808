//! Stable error codes and the error value the codec returns.
//!
//! Codes are part of the protocol: clients match on [`ErrorCode::as_str`], never on the
//! human `message`, which may be reworded at any time.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a frame or a message was refused. Stable: clients see and match on these codes.
///
/// The first group is emitted by the codec ([`decode_client`](super::decode_client)); the rest
/// by the gateway or, for refusals about conversations, by the router through the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Codec: the frame (or a batch element) is not valid JSON, or not valid UTF-8.
    InvalidJson,
    /// Codec: valid JSON of the wrong shape: the frame is neither an object nor an array, a batch
    /// is empty, or a batch element is not an object. Gateway: a binary frame.
    InvalidFrame,
    /// Codec: a batch has more than [`MAX_BATCH`](super::MAX_BATCH) elements.
    BatchTooLarge,
    /// Codec: `type` names no message this role may send. Gateway: a second `hello`.
    UnknownType,
    /// Codec: a required field is absent.
    MissingField,
    /// Codec: a field has the wrong JSON type, a value out of range, is empty, is not a field of
    /// this message, or appears twice.
    InvalidField,
    /// Codec: a string or list is longer than its limit.
    FieldTooLong,
    /// Codec: `hello.protocol` is a version this gateway does not speak.
    UnsupportedVersion,
    /// Gateway: the first message on a connection was not `hello`.
    NotHello,
    /// Gateway: `seq` was not greater than the previous message's `seq`.
    OutOfOrder,
    /// Gateway: a chat message reused a `message_id` already seen in that conversation.
    Duplicate,
    /// Router: no such conversation for this client.
    UnknownConversation,
    /// Router: the conversation is not offered to this agent.
    NotOffered,
    /// Router: the conversation is not assigned to this agent.
    NotAssigned,
    /// Router: the conversation has ended.
    ConversationEnded,
    /// Router: no queue has that name.
    UnknownQueue,
    /// Router: the transfer target cannot take the conversation now.
    TargetUnavailable,
    /// Gateway: a message would open a conversation past a tenant limit; nothing was opened.
    RateLimited,
    /// Gateway: the credential is missing, malformed, expired or not valid for this endpoint.
    Unauthorized,
    /// Gateway: the identity may not do this (another tenant's resource, or a bot-only message
    /// from a human agent).
    Forbidden,
    /// Gateway: something failed on our side; the message was not processed.
    Internal,
}

impl ErrorCode {
    /// Every code, in documentation order.
    pub const ALL: [ErrorCode; 21] = [
        ErrorCode::InvalidJson,
        ErrorCode::InvalidFrame,
        ErrorCode::BatchTooLarge,
        ErrorCode::UnknownType,
        ErrorCode::MissingField,
        ErrorCode::InvalidField,
        ErrorCode::FieldTooLong,
        ErrorCode::UnsupportedVersion,
        ErrorCode::NotHello,
        ErrorCode::OutOfOrder,
        ErrorCode::Duplicate,
        ErrorCode::UnknownConversation,
        ErrorCode::NotOffered,
        ErrorCode::NotAssigned,
        ErrorCode::ConversationEnded,
        ErrorCode::UnknownQueue,
        ErrorCode::TargetUnavailable,
        ErrorCode::RateLimited,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::Internal,
    ];

    /// The stable snake_case code sent on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidFrame => "invalid_frame",
            ErrorCode::BatchTooLarge => "batch_too_large",
            ErrorCode::UnknownType => "unknown_type",
            ErrorCode::MissingField => "missing_field",
            ErrorCode::InvalidField => "invalid_field",
            ErrorCode::FieldTooLong => "field_too_long",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::NotHello => "not_hello",
            ErrorCode::OutOfOrder => "out_of_order",
            ErrorCode::Duplicate => "duplicate",
            ErrorCode::UnknownConversation => "unknown_conversation",
            ErrorCode::NotOffered => "not_offered",
            ErrorCode::NotAssigned => "not_assigned",
            ErrorCode::ConversationEnded => "conversation_ended",
            ErrorCode::UnknownQueue => "unknown_queue",
            ErrorCode::TargetUnavailable => "target_unavailable",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code named by `name`, if any (the inverse of [`as_str`](Self::as_str)).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == name)
    }

    /// Whether the gateway closes the connection (with 1008) after sending this error.
    ///
    /// Only errors that make the rest of the session meaningless are fatal: the client does not
    /// speak our version, skipped the handshake, or is not who it claims. Everything else
    /// refuses one message and keeps the connection, so a connector carrying thousands of
    /// conversations never drops them all over one bad message.
    pub fn closes_connection(self) -> bool {
        matches!(
            self,
            ErrorCode::UnsupportedVersion | ErrorCode::NotHello | ErrorCode::Unauthorized
        )
    }

    /// A short default explanation, for errors the gateway raises without a more specific one.
    pub fn description(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "the frame is not valid JSON",
            ErrorCode::InvalidFrame => "a frame is one message object or a non-empty array of them",
            ErrorCode::BatchTooLarge => "too many messages in one batch",
            ErrorCode::UnknownType => "unknown message type for this role",
            ErrorCode::MissingField => "a required field is missing",
            ErrorCode::InvalidField => "a field has an invalid value",
            ErrorCode::FieldTooLong => "a field is longer than its limit",
            ErrorCode::UnsupportedVersion => "unsupported protocol version",
            ErrorCode::NotHello => "the first message must be hello",
            ErrorCode::OutOfOrder => "seq must be greater than the previous message's seq",
            ErrorCode::Duplicate => {
                "this message_id was already received; it was not applied again"
            }
            ErrorCode::UnknownConversation => "no such conversation",
            ErrorCode::NotOffered => "the conversation is not offered to you",
            ErrorCode::NotAssigned => "the conversation is not assigned to you",
            ErrorCode::ConversationEnded => "the conversation has ended",
            ErrorCode::UnknownQueue => "no queue has that name",
            ErrorCode::TargetUnavailable => "the transfer target cannot take the conversation now",
            ErrorCode::RateLimited => {
                "a limit on new conversations was reached; nothing was opened, retry later"
            }
            ErrorCode::Unauthorized => "missing, invalid or expired credentials",
            ErrorCode::Forbidden => "not permitted for this identity",
            ErrorCode::Internal => "internal error; the message was not processed",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused frame or message: a stable code, a short human message, and where it happened.
///
/// The message may name a field (`customer.tier`) but never repeats a value the client sent:
/// values can be personal data, and error frames end up in client logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ProtocolError {
    /// The stable code.
    pub code: ErrorCode,
    /// A short explanation for humans; not stable.
    pub message: String,
    /// The element's position in a batch frame; `None` for a single-object frame or a whole-frame
    /// error.
    pub index: Option<usize>,
    /// The refused message's `seq`, when it could be read.
    pub seq: Option<u64>,
}

impl ProtocolError {
    /// An error with a specific message, not yet tied to a batch index or seq.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ProtocolError {
            code,
            message: message.into(),
            index: None,
            seq: None,
        }
    }

    /// An error with the code's default [`description`](ErrorCode::description).
    pub fn from_code(code: ErrorCode) -> Self {
        ProtocolError::new(code, code.description())
    }

    /// The same error, answering the client message with this `seq`.
    #[must_use]
    pub fn with_seq(mut self, seq: u64) -> Self {
        self.seq = Some(seq);
        self
    }

    /// The same error, about the batch element at `index`.
    #[must_use]
    pub fn with_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }
}
