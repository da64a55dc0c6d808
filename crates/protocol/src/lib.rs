//! The wire protocol (version 1) between Switchboard and its clients: message types, codec and
//! error codes. No I/O: the gateway owns the sockets and calls [`decode_client`] and
//! [`encode_server`].
//!
//! Every frame is a UTF-8 JSON text frame holding one message object or an array of up to
//! [`MAX_BATCH`] of them. Every message has a snake_case `"type"`. A client opens with `hello`
//! (the server answers `welcome`), then numbers each message with a strictly increasing `seq`,
//! which the server acknowledges cumulatively with `ack` (errors for a message always come
//! before the `ack` that covers it). Server messages carry the server's own contiguous `seq`
//! per session so a reconnecting client can `resume` and have missed messages replayed; the
//! connection-level frames `welcome`, `ack`, `error` and `pong` are never replayed and carry no
//! server seq. Chat messages carry an author-chosen `message_id` that lets the gateway drop
//! resent duplicates. A connector ([`ClientRole::Connector`]) multiplexes customer
//! conversations; an agent client ([`ClientRole::Agent`], human or bot) receives offers and
//! replies. The full specification, with examples, is `docs/protocol.md`.
//!
//! # Limits
//!
//! | what | limit | enforced by |
//! |---|---|---|
//! | client frame size | [`MAX_FRAME_BYTES`] (64 KiB) | the socket layer: close 1009 |
//! | messages per batch | [`MAX_BATCH`] (256) | codec: `batch_too_large` |
//! | `text` | [`MAX_TEXT_CHARS`] (8192) characters | codec: `field_too_long` |
//! | ids and names of things (`conversation`, `message_id`, `customer.id`, `channel`, tags, …) | [`MAX_ID_LEN`] (128) bytes | codec: `field_too_long` |
//! | `customer.name` | [`MAX_NAME_CHARS`] (128) characters | codec: `field_too_long` |
//! | `customer.tags` | [`MAX_TAGS`] (32) entries | codec: `field_too_long` |
//! | `bot_handoff.reason` | [`MAX_REASON_CHARS`] (256) characters | codec: `field_too_long` |
//! | `bot_handoff.summary` | [`MAX_SUMMARY_CHARS`] (4096) characters | codec: `field_too_long` |
//!
//! Characters are Unicode scalar values (what `chars()` counts; one per Chinese character).
//! No string may be empty: omit an optional field instead.
//!
//! # Decoding contract
//!
//! [`decode_client`] returns an outer error when the whole frame is unusable (invalid JSON,
//! neither object nor array, empty or oversize batch) and otherwise one result per message, in
//! frame order: a bad batch element is reported with its `index` while the others still decode.
//! It never panics, never echoes client values in error messages, and on the happy path parses
//! straight from the `&str` into the message types (no intermediate `serde_json::Value`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

mod close;
mod codec;
mod error;
mod wire;

pub use close::CloseCode;
pub use codec::{
    decode_client, decode_server, encode_client, encode_client_batch, encode_server,
    encode_server_batch,
};
pub use error::{ErrorCode, ProtocolError};
pub use wire::*;

/// The protocol version this crate speaks: `hello.protocol` and `welcome.protocol`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest client frame the gateway accepts, in bytes. Enforced by the socket layer (close 1009),
/// not by the codec; exported so both use one number. Server frames are not bounded by it.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Most messages in one batch frame, either direction.
pub const MAX_BATCH: usize = 256;

/// Longest chat `text`, in characters.
pub const MAX_TEXT_CHARS: usize = 8192;

/// Longest id or name of a thing (conversation, message, customer, session, channel, language,
/// intent, tag, queue, agent, client), in UTF-8 bytes.
pub const MAX_ID_LEN: usize = 128;

/// Longest `customer.name`, in characters.
pub const MAX_NAME_CHARS: usize = 128;

/// Most `customer.tags`.
pub const MAX_TAGS: usize = 32;

/// Longest `bot_handoff.reason`, in characters.
pub const MAX_REASON_CHARS: usize = 256;

/// Longest `bot_handoff.summary`, in characters.
pub const MAX_SUMMARY_CHARS: usize = 4096;

/// The gateway remembers at least this many recent `message_id`s per open conversation and
/// sender side to detect resent chat messages (`duplicate`). A promise to clients: the gateway's
/// own bound must not be smaller.
pub const MIN_DEDUP_WINDOW: usize = 16;
