//! Pins the error each codec code is raised with, message included: clients see these, and
//! they must not change when serde_json does.

use super::{decode_client, MAX_BATCH};
use crate::error::ErrorCode::{self, *};
use crate::wire::ClientRole::{self, Agent, Connector};

/// The first error `frame` is refused with, whole-frame or for its first message.
fn first_error(frame: &str, role: ClientRole) -> (ErrorCode, String) {
    let error = match decode_client(frame, role) {
        Err(error) => error,
        Ok(results) => match results.into_iter().next() {
            Some(Err(error)) => error,
            other => panic!("{frame}: not refused: {other:?}"),
        },
    };
    (error.code, error.message)
}

#[test]
#[rustfmt::skip]
fn every_codec_code_keeps_its_message() {
    let cases: &[(&str, ClientRole, ErrorCode, &str)] = &[
        ("{\"type\":\"ping\",\"seq\":1", Connector, InvalidJson, "invalid JSON: EOF while parsing an object at line 1 column 22"),
        ("[{\"type\":\"ping\",\"seq\":1},]", Connector, InvalidJson, "invalid JSON: trailing comma at line 1 column 26"),
        ("5", Connector, InvalidFrame, "a frame must be a message object or an array of them"),
        ("[]", Connector, InvalidFrame, "a batch must hold at least one message"),
        ("[5]", Connector, InvalidFrame, "a message must be a JSON object"),
        ("{\"type\":\"teleport\",\"seq\":1}", Connector, UnknownType, "unknown message type"),
        ("{\"seq\":1,\"type\":\"teleport\"}", Connector, UnknownType, "unknown message type"),
        ("{\"type\":\"accept\",\"seq\":1,\"conversation\":\"c\"}", Connector, UnknownType, "`accept` is not sent by connectors"),
        ("{\"type\":5,\"seq\":1}", Connector, InvalidField, "field `type`: expected a message type name"),
        ("{\"seq\":1}", Connector, MissingField, "missing field `type`"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"text\":\"hi\"}", Connector, MissingField, "missing field `message_id`"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":{\"tier\":\"vip\"}}", Connector, MissingField, "missing field `customer.id`"),
        ("{\"type\":\"ping\",\"seq\":\"1\"}", Connector, InvalidField, "field `seq`: expected an integer from 0 to 18446744073709551615"),
        ("{\"type\":\"ping\",\"seq\":-1}", Connector, InvalidField, "field `seq`: expected an integer from 0 to 18446744073709551615"),
        ("{\"type\":\"ping\",\"seq\":1e999}", Connector, InvalidField, "field `seq`: number out of range"),
        ("{\"type\":\"ping\",\"seq\":1,\"extra\":true}", Connector, InvalidField, "unknown field `extra`"),
        ("{\"type\":\"ping\",\"seq\":1,\"seq\":2}", Connector, InvalidField, "duplicate field `seq`"),
        ("{\"type\":\"ping\",\"type\":\"ping\",\"seq\":1}", Connector, InvalidField, "duplicate field `type`"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":{\"id\":\"u\",\"tier\":\"gold\"}}", Connector, InvalidField, "field `customer.tier`: expected `standard` or `vip`"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":{\"id\":\"u\",\"tier\":\"vip\",\"vip_level\":300}}", Connector, InvalidField, "field `customer.vip_level`: expected an integer from 0 to 255"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":{\"id\":\"u\",\"tier\":\"vip\",\"vip_level\":12}}", Connector, InvalidField, "field `customer.vip_level` must be between 1 and 9"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":{\"id\":\"u\",\"tier\":\"standard\",\"tags\":\"vip\"}}", Connector, InvalidField, "field `customer.tags`: expected an array"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"customer\":[1]}", Connector, InvalidField, "field `customer`: expected an object"),
        ("{\"type\":\"status\",\"seq\":3,\"status\":5}", Agent, InvalidField, "field `status`: wrong type"),
        ("{\"type\":\"transfer\",\"seq\":4,\"conversation\":\"c\"}", Agent, InvalidField, "exactly one of `to_queue` and `to_agent` is required"),
        ("{\"type\":\"customer_message\",\"seq\":2,\"conversation\":\"\",\"message_id\":\"m\",\"text\":\"hi\"}", Connector, InvalidField, "field `conversation` must not be empty"),
        ("{\"type\":\"message\",\"seq\":5,\"conversation\":\"c\",\"message_id\":\"m\",\"text\":\"hi\",\"李\":1}", Agent, InvalidField, "unknown field `?`"),
        ("{\"type\":\"hello\",\"seq\":1,\"protocol\":2,\"client\":\"x\",\"future\":1}", Connector, UnsupportedVersion, "unsupported protocol version; this gateway speaks 1"),
    ];
    for &(frame, role, code, message) in cases {
        assert_eq!(first_error(frame, role), (code, message.to_owned()), "{frame}");
    }
}

#[test]
fn batch_and_length_limits_keep_their_messages() {
    let ping = r#"{"type":"ping","seq":1}"#;
    let batch = format!("[{}]", vec![ping; MAX_BATCH + 1].join(","));
    assert_eq!(
        first_error(&batch, Agent),
        (
            BatchTooLarge,
            "a batch holds at most 256 messages".to_owned()
        )
    );
    let text = "字".repeat(crate::MAX_TEXT_CHARS + 1);
    let frame = format!(
        r#"{{"type":"message","seq":5,"conversation":"c","message_id":"m","text":"{text}"}}"#
    );
    assert_eq!(
        first_error(&frame, Agent),
        (
            FieldTooLong,
            "field `text` is longer than 8192 characters".to_owned()
        )
    );
}
