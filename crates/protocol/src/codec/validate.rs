//! What serde cannot check: string lengths, empty strings, ranges and the protocol version.

use crate::error::{ErrorCode, ProtocolError};
use crate::wire::{ClientMessage, Customer, TransferTarget};
use crate::{
    MAX_ID_LEN, MAX_NAME_CHARS, MAX_REASON_CHARS, MAX_SUMMARY_CHARS, MAX_TAGS, MAX_TEXT_CHARS,
    PROTOCOL_VERSION,
};

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

/// Checks a decoded client message against the limits serde does not know.
pub(super) fn validate(msg: &ClientMessage) -> Result<(), ProtocolError> {
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

pub(super) fn unsupported_version() -> ProtocolError {
    ProtocolError::new(
        ErrorCode::UnsupportedVersion,
        format!("unsupported protocol version; this gateway speaks {PROTOCOL_VERSION}"),
    )
}
