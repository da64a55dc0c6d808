//! The wire protocol from the outside: round trips, refusals with their documented codes,
//! batches, robustness against arbitrary input, and the examples in `docs/protocol.md`.

use std::collections::BTreeSet;

use proptest::prelude::*;
use switchboard_protocol::*;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// A value that stands for personal data: no error message may ever contain it.
const SECRET: &str = "13800138000";

fn vip_customer() -> Customer {
    Customer {
        id: "u-5521".into(),
        tier: Tier::Vip(3),
        tags: vec!["returning".into(), "老客户".into()],
        name: Some("李女士".into()),
    }
}

fn full_customer_message() -> CustomerMessage {
    CustomerMessage {
        seq: 2,
        conversation: "app:c-88123".into(),
        message_id: "m-1".into(),
        text: "我的快递三天没动了 \"quoted\" \\ \n tab\t and emoji 📦".into(),
        customer: Some(vip_customer()),
        channel: Some("app".into()),
        language: Some("zh".into()),
        intent: Some("logistics".into()),
        order_value: Some(25_900),
        sentiment: Some(-0.3),
        sent_at: Some(1_760_000_000_000),
    }
}

fn minimal_customer_message() -> CustomerMessage {
    CustomerMessage {
        seq: u64::MAX,
        conversation: "c".into(),
        message_id: "m".into(),
        text: "hi".into(),
        customer: Some(Customer {
            id: "u".into(),
            tier: Tier::Standard,
            tags: vec![],
            name: None,
        }),
        channel: Some("web".into()),
        language: None,
        intent: None,
        order_value: None,
        sentiment: None,
        sent_at: None,
    }
}

fn conv(seq: u64) -> ConversationRef {
    ConversationRef {
        seq,
        conversation: "app:c-88123".into(),
    }
}

/// Every client message type, several shapes of the ones with optional parts.
fn client_messages() -> Vec<(ClientRole, ClientMessage)> {
    use ClientRole::{Agent, Connector};
    vec![
        (
            Connector,
            ClientMessage::Hello(Hello {
                seq: 1,
                protocol: 1,
                client: "wechat-connector/2.3.1".into(),
                resume: None,
            }),
        ),
        (
            Agent,
            ClientMessage::Hello(Hello {
                seq: 1,
                protocol: 1,
                client: "desk/5.2.0".into(),
                resume: Some(Resume {
                    session: "s-1b2e44".into(),
                    last_seq: 318,
                }),
            }),
        ),
        (
            Connector,
            ClientMessage::CustomerMessage(full_customer_message()),
        ),
        (
            Connector,
            ClientMessage::CustomerMessage(minimal_customer_message()),
        ),
        (Connector, ClientMessage::CustomerLeft(conv(3))),
        (Connector, ClientMessage::Close(conv(4))),
        (Connector, ClientMessage::Ping(Ping { seq: 5 })),
        (
            Agent,
            ClientMessage::Status(SetStatus {
                seq: 2,
                status: AgentStatus::Away,
            }),
        ),
        (Agent, ClientMessage::Accept(conv(3))),
        (Agent, ClientMessage::Reject(conv(4))),
        (
            Agent,
            ClientMessage::Message(AgentMessage {
                seq: 5,
                conversation: "app:c-88123".into(),
                message_id: "a-1001-5567".into(),
                text: "您好，我是小王".into(),
            }),
        ),
        (
            Agent,
            ClientMessage::Transfer(Transfer {
                seq: 6,
                conversation: "app:c-88123".into(),
                target: TransferTarget::Queue("refunds".into()),
            }),
        ),
        (
            Agent,
            ClientMessage::Transfer(Transfer {
                seq: 7,
                conversation: "app:c-88123".into(),
                target: TransferTarget::Agent("a-1002".into()),
            }),
        ),
        (Agent, ClientMessage::Close(conv(8))),
        (
            Agent,
            ClientMessage::BotResult(BotResult {
                seq: 9,
                conversation: "app:c-88123".into(),
                resolved: true,
            }),
        ),
        (
            Agent,
            ClientMessage::BotHandoff(BotHandoff {
                seq: 10,
                conversation: "app:c-88123".into(),
                reason: "超出权限".into(),
                summary: Some("VIP3 客户，物流三天未更新".into()),
            }),
        ),
        (
            Agent,
            ClientMessage::BotHandoff(BotHandoff {
                seq: 11,
                conversation: "app:c-88123".into(),
                reason: "unsure".into(),
                summary: None,
            }),
        ),
        (
            Agent,
            ClientMessage::HandBack(ConversationRef {
                seq: 12,
                conversation: "app:c-88123".into(),
            }),
        ),
        (Agent, ClientMessage::Ping(Ping { seq: 13 })),
    ]
}

fn offer_context(handoff: Option<HandoffContext>) -> OfferContext {
    OfferContext {
        queue: "logistics".into(),
        class: Class::Vip,
        customer: vip_customer().into(),
        channel: "app".into(),
        language: "zh".into(),
        intent: Some("logistics".into()),
        order_value: Some(25_900),
        waited_secs: 4,
        returning_customer: true,
        handoff,
        transcript: vec![
            TranscriptLine {
                at: 1_760_000_000_120,
                from: Speaker::Customer,
                text: "我的快递三天没动了".into(),
                message_id: "m-1".into(),
            },
            TranscriptLine {
                at: 1_760_000_001_480,
                from: Speaker::Bot,
                text: "正在查询".into(),
                message_id: "bot-7781".into(),
            },
            TranscriptLine {
                at: 1_760_000_002_000,
                from: Speaker::Agent,
                text: "我来处理".into(),
                message_id: "a-1".into(),
            },
        ],
        transcript_truncated: Some(2),
        order_numbers: vec!["E20251111000123".into()],
        tracking_numbers: vec!["SF1234567890".into()],
    }
}

/// Every server message type, several shapes of the ones with optional parts.
fn server_messages() -> Vec<ServerMessage> {
    vec![
        ServerMessage::Welcome(Welcome {
            protocol: 1,
            session: "s-7f3a9c".into(),
            role: SessionRole::Connector,
            tenant: "acme".into(),
            resumed: true,
            replayed: 3,
            gap: false,
            heartbeat_secs: 20,
        }),
        ServerMessage::Ack(Ack { seq: 12 }),
        ServerMessage::Error(ErrorReport {
            code: ErrorCode::MissingField,
            message: "missing field `customer.id`".into(),
            seq: Some(14),
            index: Some(2),
            conversation: None,
            retry_after_ms: None,
        }),
        ServerMessage::Error(ErrorReport {
            code: ErrorCode::RateLimited,
            message: ErrorCode::RateLimited.description().into(),
            seq: Some(15),
            index: None,
            conversation: Some("app:c-90418".into()),
            retry_after_ms: Some(250),
        }),
        ServerMessage::Error(ErrorReport {
            code: ErrorCode::NotAssigned,
            message: ErrorCode::NotAssigned.description().into(),
            seq: None,
            index: None,
            conversation: Some("app:c-90417".into()),
            retry_after_ms: None,
        }),
        ServerMessage::Pong(Pong { seq: 41 }),
        ServerMessage::Reply(Reply {
            seq: 5,
            conversation: "app:c-88123".into(),
            message_id: "a-1001-5567".into(),
            text: "您好".into(),
            from: Author {
                role: AuthorRole::Agent,
                id: "a-1001".into(),
                name: Some("小王".into()),
            },
        }),
        ServerMessage::Reply(Reply {
            seq: 6,
            conversation: "app:c-88123".into(),
            message_id: "bot-1".into(),
            text: "hello".into(),
            from: Author {
                role: AuthorRole::Bot,
                id: "bot-1".into(),
                name: None,
            },
        }),
        ServerMessage::Queue(QueuePosition {
            seq: 3,
            conversation: "app:c-88123".into(),
            position: 2,
            ewt_secs: Some(45),
        }),
        ServerMessage::Queue(QueuePosition {
            seq: 4,
            conversation: "app:c-88123".into(),
            position: 1,
            ewt_secs: None,
        }),
        ServerMessage::Handoff(Handoff {
            seq: 2,
            conversation: "app:c-88123".into(),
            reason: HandoffReason::NegativeSentiment,
        }),
        ServerMessage::AgentJoined(AgentJoined {
            seq: 4,
            conversation: "app:c-88123".into(),
            agent: AgentRef {
                id: "a-1001".into(),
                name: Some("小王".into()),
            },
        }),
        ServerMessage::Closed(Closed {
            seq: 6,
            conversation: "app:c-88123".into(),
            reason: CloseReason::Shutdown,
            abandoned: true,
        }),
        ServerMessage::Offer(Box::new(Offer {
            seq: 17,
            conversation: "app:c-88123".into(),
            auto_accepted: false,
            expires_in_secs: Some(15),
            context: offer_context(Some(HandoffContext {
                reason: HandoffReason::BotRequest,
                bot_reason: Some("超出权限".into()),
                bot_summary: Some("客户很着急".into()),
                sentiment: Some(-0.4),
                sentiment_trend: vec![0.1, -0.3, -0.4],
            })),
        })),
        ServerMessage::Offer(Box::new(Offer {
            seq: 41,
            conversation: "app:c-88124".into(),
            auto_accepted: true,
            expires_in_secs: None,
            context: OfferContext {
                customer: OfferCustomer {
                    id: "u-55**".into(),
                    tier: Tier::Standard,
                    tags: vec![],
                    name: None,
                },
                intent: None,
                order_value: None,
                transcript: vec![],
                transcript_truncated: None,
                order_numbers: vec![],
                tracking_numbers: vec![],
                ..offer_context(None)
            },
        })),
        ServerMessage::OfferWithdrawn(OfferWithdrawn {
            seq: 19,
            conversation: "app:c-90417".into(),
            reason: WithdrawReason::AgentGone,
        }),
        ServerMessage::CustomerMessage(CustomerMessageToAgent {
            seq: 20,
            conversation: "app:c-88123".into(),
            message_id: "m-3".into(),
            text: "好的，谢谢".into(),
            sentiment: Some(0.6),
        }),
        ServerMessage::Status(StatusChanged {
            seq: 21,
            status: AgentStatus::Offline,
            reason: StatusReason::GraceExpired,
        }),
        ServerMessage::Resumed(Resumed {
            seq: 319,
            conversations: vec!["app:c-88123".into(), "wechat:o6_bm-4411".into()],
        }),
    ]
}

/// Decodes a frame expected to hold exactly one good client message.
fn decode_one(frame: &str, role: ClientRole) -> ClientMessage {
    let mut results = decode_client(frame, role).expect("frame accepted");
    assert_eq!(results.len(), 1, "{frame}");
    results.remove(0).expect("message accepted")
}

/// Re-serializes through `serde_json::Value`, whose maps sort their keys: `type` is no longer
/// first, which exercises the two-pass route.
fn sorted_keys(frame: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(frame).expect("valid JSON");
    serde_json::to_string(&value).expect("serializable")
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

#[test]
fn every_client_message_round_trips() {
    let mut types = BTreeSet::new();
    for (role, msg) in client_messages() {
        types.insert(msg.type_name());
        let frame = encode_client(&msg);
        assert!(frame.starts_with(r#"{"type":""#), "type first: {frame}");
        assert_eq!(decode_one(&frame, role), msg, "{frame}");
        assert_eq!(
            decode_one(&sorted_keys(&frame), role),
            msg,
            "sorted keys: {frame}"
        );
    }
    assert_eq!(types.len(), 13, "every client type is covered: {types:?}");
}

#[test]
fn every_server_message_round_trips() {
    let mut types = BTreeSet::new();
    for msg in server_messages() {
        types.insert(msg.type_name());
        let frame = encode_server(&msg);
        assert!(frame.starts_with(r#"{"type":""#), "type first: {frame}");
        let results = decode_server(&frame).expect("frame accepted");
        assert_eq!(results, vec![Ok(msg.clone())], "{frame}");
        let results = decode_server(&sorted_keys(&frame)).expect("frame accepted");
        assert_eq!(results, vec![Ok(msg)], "sorted keys: {frame}");
    }
    let all: BTreeSet<&str> = ServerMessage::TYPE_NAMES.into_iter().collect();
    assert_eq!(
        types, all,
        "every server type is covered, and TYPE_NAMES is complete"
    );
}

#[test]
fn batches_round_trip_in_order() {
    let (roles, msgs): (Vec<_>, Vec<_>) = client_messages()
        .into_iter()
        .filter(|(role, _)| *role == ClientRole::Agent)
        .unzip();
    assert!(roles.iter().all(|r| *r == ClientRole::Agent));
    let decoded = decode_client(&encode_client_batch(&msgs), ClientRole::Agent).expect("batch");
    assert_eq!(decoded, msgs.into_iter().map(Ok).collect::<Vec<_>>());

    let msgs = server_messages();
    let decoded = decode_server(&encode_server_batch(&msgs)).expect("batch");
    assert_eq!(decoded, msgs.into_iter().map(Ok).collect::<Vec<_>>());
}

#[test]
fn optional_fields_may_be_omitted_or_null() {
    let omitted = r#"{"type":"customer_message","seq":2,"conversation":"c","message_id":"m","text":"hi","customer":{"id":"u","tier":"standard"},"channel":"web"}"#;
    let nulls = r#"{"type":"customer_message","seq":2,"conversation":"c","message_id":"m","text":"hi","customer":{"id":"u","tier":"standard","vip_level":null,"tags":null,"name":null},"channel":"web","language":null,"intent":null,"order_value":null,"sentiment":null,"sent_at":null}"#;
    let expected = ClientMessage::CustomerMessage(CustomerMessage {
        seq: 2,
        ..minimal_customer_message()
    });
    assert_eq!(decode_one(omitted, ClientRole::Connector), expected);
    assert_eq!(decode_one(nulls, ClientRole::Connector), expected);

    let frame = r#"{"type":"hello","seq":1,"protocol":1,"client":"x","resume":null}"#;
    assert!(matches!(
        decode_one(frame, ClientRole::Agent),
        ClientMessage::Hello(Hello { resume: None, .. })
    ));
    let frame = r#"{"type":"bot_handoff","seq":1,"conversation":"c","reason":"r","summary":null}"#;
    assert!(matches!(
        decode_one(frame, ClientRole::Agent),
        ClientMessage::BotHandoff(BotHandoff { summary: None, .. })
    ));
    let frame = r#"{"type":"transfer","seq":1,"conversation":"c","to_queue":null,"to_agent":"a"}"#;
    assert_eq!(
        decode_one(frame, ClientRole::Agent),
        ClientMessage::Transfer(Transfer {
            seq: 1,
            conversation: "c".into(),
            target: TransferTarget::Agent("a".into()),
        })
    );
}

#[test]
fn vip_level_defaults_to_one() {
    let frame = r#"{"type":"customer_message","seq":2,"conversation":"c","message_id":"m","text":"hi","customer":{"id":"u","tier":"vip"},"channel":"web"}"#;
    let ClientMessage::CustomerMessage(msg) = decode_one(frame, ClientRole::Connector) else {
        panic!("wrong type");
    };
    assert_eq!(msg.customer.as_ref().map(|c| c.tier), Some(Tier::Vip(1)));
}

#[test]
fn limits_are_inclusive() {
    let mut msg = minimal_customer_message();
    msg.text = "字".repeat(MAX_TEXT_CHARS).into();
    msg.conversation = "c".repeat(MAX_ID_LEN);
    let customer = msg
        .customer
        .as_mut()
        .expect("the example describes the customer");
    customer.tags = vec!["t".repeat(MAX_ID_LEN); MAX_TAGS];
    customer.name = Some("名".repeat(MAX_NAME_CHARS).into());
    msg.sentiment = Some(-1.0);
    let msg = ClientMessage::CustomerMessage(msg);
    assert_eq!(decode_one(&encode_client(&msg), ClientRole::Connector), msg);

    let handoff = ClientMessage::BotHandoff(BotHandoff {
        seq: 1,
        conversation: "c".into(),
        reason: "因".repeat(MAX_REASON_CHARS).into(),
        summary: Some("总".repeat(MAX_SUMMARY_CHARS).into()),
    });
    assert_eq!(
        decode_one(&encode_client(&handoff), ClientRole::Agent),
        handoff
    );

    let pings: Vec<_> = (1..=MAX_BATCH as u64)
        .map(|seq| ClientMessage::Ping(Ping { seq }))
        .collect();
    let decoded = decode_client(&encode_client_batch(&pings), ClientRole::Agent).expect("batch");
    assert_eq!(decoded.len(), MAX_BATCH);
}

#[test]
fn whitespace_and_escaped_keys_are_fine() {
    let frame = " \n\t{ \"typ\\u0065\" : \"ping\" ,\r\n \"seq\" : 3 } \n";
    assert_eq!(
        decode_one(frame, ClientRole::Agent),
        ClientMessage::Ping(Ping { seq: 3 })
    );
}

// ---------------------------------------------------------------------------------------------
// Refusals
// ---------------------------------------------------------------------------------------------

/// What a bad frame must produce.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The whole frame is refused with this code.
    Frame(ErrorCode),
    /// The frame's only message is refused with this code, reporting this seq.
    Message(ErrorCode, Option<u64>),
}

/// A customer_message with one field replaced (or removed, with `None`), as a frame.
fn customer_message_with(path: &[&str], value: Option<serde_json::Value>) -> String {
    let mut frame: serde_json::Value = serde_json::from_str(&encode_client(
        &ClientMessage::CustomerMessage(full_customer_message()),
    ))
    .expect("valid");
    let (last, parents) = path.split_last().expect("a path");
    let mut target = &mut frame;
    for key in parents {
        target = &mut target[*key];
    }
    let object = target.as_object_mut().expect("an object");
    match value {
        Some(value) => object.insert((*last).to_owned(), value),
        None => object.remove(*last),
    };
    serde_json::to_string(&frame).expect("serializable")
}

fn bad_inputs() -> Vec<(&'static str, ClientRole, String, Expect)> {
    use serde_json::json;
    use ClientRole::{Agent, Connector};
    use ErrorCode::*;
    use Expect::{Frame, Message};
    let cm = customer_message_with;
    let s = |text: &str| text.to_owned();
    vec![
        // Invalid JSON: nothing in the frame is usable.
        (
            "truncated object",
            Agent,
            s(r#"{"type":"ping","seq":1"#),
            Frame(InvalidJson),
        ),
        ("not JSON at all", Agent, s("hello"), Frame(InvalidJson)),
        ("empty frame", Agent, s(""), Frame(InvalidJson)),
        ("blank frame", Agent, s(" \n "), Frame(InvalidJson)),
        (
            "two objects",
            Agent,
            s(r#"{"type":"ping","seq":1} {"type":"ping","seq":2}"#),
            Frame(InvalidJson),
        ),
        (
            "trailing comma in batch",
            Agent,
            s(r#"[{"type":"ping","seq":1},]"#),
            Frame(InvalidJson),
        ),
        (
            "single quotes",
            Agent,
            s("{'type':'ping','seq':1}"),
            Frame(InvalidJson),
        ),
        (
            "unknown type in a broken frame",
            Agent,
            s(r#"{"type":"nope","seq":1,"#),
            Frame(InvalidJson),
        ),
        (
            "unbalanced deep nesting",
            Agent,
            "[".repeat(5000),
            Frame(InvalidJson),
        ),
        // Not an object or array.
        ("number", Agent, s("42"), Frame(InvalidFrame)),
        ("string", Agent, s(r#""ping""#), Frame(InvalidFrame)),
        ("null", Agent, s("null"), Frame(InvalidFrame)),
        ("empty batch", Agent, s("[]"), Frame(InvalidFrame)),
        ("blank empty batch", Agent, s(" [ ] "), Frame(InvalidFrame)),
        (
            "batch element not an object",
            Agent,
            s("[1]"),
            Message(InvalidFrame, None),
        ),
        (
            "nested batch",
            Agent,
            s(r#"[[{"type":"ping","seq":1}]]"#),
            Message(InvalidFrame, None),
        ),
        (
            "deeply nested batch",
            Agent,
            format!("{}{}", "[".repeat(5000), "]".repeat(5000)),
            Message(InvalidFrame, None),
        ),
        // Batch size.
        (
            "batch over limit",
            Agent,
            format!(
                "[{}]",
                vec![r#"{"type":"ping","seq":1}"#; MAX_BATCH + 1].join(",")
            ),
            Frame(BatchTooLarge),
        ),
        // Unknown type, including another role's messages and server types.
        (
            "unknown type",
            Agent,
            s(r#"{"type":"nope","seq":3}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "unknown type, type last",
            Agent,
            s(r#"{"seq":3,"type":"nope"}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "type in wrong case",
            Agent,
            s(r#"{"type":"Ping","seq":3}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "server type",
            Agent,
            s(r#"{"type":"welcome","seq":3}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "server type, type last",
            Agent,
            s(r#"{"seq":3,"type":"ack"}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "agent message from connector",
            Connector,
            s(r#"{"type":"accept","seq":3,"conversation":"c"}"#),
            Message(UnknownType, Some(3)),
        ),
        (
            "connector message from agent",
            Agent,
            cm(&["seq"], Some(json!(3))),
            Message(UnknownType, Some(3)),
        ),
        (
            "bot message from connector",
            Connector,
            s(r#"{"conversation":"c","resolved":true,"seq":3,"type":"bot_result"}"#),
            Message(UnknownType, Some(3)),
        ),
        // Missing fields.
        (
            "missing type",
            Agent,
            s(r#"{"seq":3}"#),
            Message(MissingField, Some(3)),
        ),
        ("empty object", Agent, s("{}"), Message(MissingField, None)),
        (
            "missing seq",
            Agent,
            s(r#"{"type":"ping"}"#),
            Message(MissingField, None),
        ),
        (
            "missing text",
            Connector,
            cm(&["text"], None),
            Message(MissingField, Some(2)),
        ),
        (
            "missing customer.id",
            Connector,
            cm(&["customer", "id"], None),
            Message(MissingField, Some(2)),
        ),
        (
            "missing customer.tier",
            Connector,
            cm(&["customer", "tier"], None),
            Message(MissingField, Some(2)),
        ),
        (
            "missing resolved",
            Agent,
            s(r#"{"type":"bot_result","seq":4,"conversation":"c"}"#),
            Message(MissingField, Some(4)),
        ),
        // Wrong types.
        (
            "type not a string",
            Agent,
            s(r#"{"type":5,"seq":3}"#),
            Message(InvalidField, Some(3)),
        ),
        (
            "type not a string, type last",
            Agent,
            s(r#"{"seq":3,"type":["ping"]}"#),
            Message(InvalidField, Some(3)),
        ),
        (
            "seq a string",
            Agent,
            format!(r#"{{"type":"ping","seq":"{SECRET}"}}"#),
            Message(InvalidField, None),
        ),
        (
            "seq negative",
            Agent,
            s(r#"{"type":"ping","seq":-1}"#),
            Message(InvalidField, None),
        ),
        (
            "seq fractional",
            Agent,
            s(r#"{"type":"ping","seq":1.5}"#),
            Message(InvalidField, None),
        ),
        (
            "seq beyond u64",
            Agent,
            s(r#"{"type":"ping","seq":18446744073709551616}"#),
            Message(InvalidField, None),
        ),
        (
            "text a number",
            Connector,
            cm(&["text"], Some(json!(13800138000u64))),
            Message(InvalidField, Some(2)),
        ),
        (
            "customer a string",
            Connector,
            cm(&["customer"], Some(json!(SECRET))),
            Message(InvalidField, Some(2)),
        ),
        (
            "tag a number",
            Connector,
            cm(&["customer", "tags"], Some(json!(["a", 5]))),
            Message(InvalidField, Some(2)),
        ),
        (
            "tags an object",
            Connector,
            cm(&["customer", "tags"], Some(json!({"a": SECRET}))),
            Message(InvalidField, Some(2)),
        ),
        (
            "order_value negative",
            Connector,
            cm(&["order_value"], Some(json!(-5))),
            Message(InvalidField, Some(2)),
        ),
        (
            "resolved a string",
            Agent,
            s(r#"{"type":"bot_result","seq":4,"conversation":"c","resolved":"yes"}"#),
            Message(InvalidField, Some(4)),
        ),
        (
            "status unknown",
            Agent,
            s(r#"{"type":"status","seq":4,"status":"busy"}"#),
            Message(InvalidField, Some(4)),
        ),
        (
            "protocol a string",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":"1","client":"x"}"#),
            Message(InvalidField, Some(1)),
        ),
        // Unknown and repeated fields.
        (
            "unknown field",
            Agent,
            format!(r#"{{"type":"ping","seq":1,"extra":"{SECRET}"}}"#),
            Message(InvalidField, Some(1)),
        ),
        (
            "data as a key",
            Agent,
            format!(r#"{{"type":"ping","seq":1,"{SECRET}":1}}"#),
            Message(InvalidField, Some(1)),
        ),
        (
            "unknown nested field",
            Connector,
            cm(&["customer", "phone"], Some(json!(SECRET))),
            Message(InvalidField, Some(2)),
        ),
        (
            "camelCase field",
            Connector,
            cm(&["messageId"], Some(json!("m-1"))),
            Message(InvalidField, Some(2)),
        ),
        (
            "deep value in unknown field",
            Agent,
            format!(
                r#"{{"type":"ping","seq":1,"x":{}{}}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            Message(InvalidField, Some(1)),
        ),
        (
            "deep value in unknown field, type last",
            Agent,
            format!(
                r#"{{"seq":1,"x":{}{},"type":"ping"}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            Message(InvalidField, Some(1)),
        ),
        (
            "deep value in a known field",
            Connector,
            cm(&["customer"], Some(json!(0)))
                .replace(":0", &format!(":{}{}", "[".repeat(5000), "]".repeat(5000))),
            Message(InvalidField, Some(2)),
        ),
        (
            "customer as an array",
            Connector,
            cm(&["customer"], Some(json!(["u", "vip"]))),
            Message(InvalidField, Some(2)),
        ),
        (
            "resume as an array",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":1,"client":"x","resume":["s",5]}"#),
            Message(InvalidField, Some(1)),
        ),
        (
            "deep seq value, type last",
            Agent,
            format!(
                r#"{{"seq":{}{},"type":"ping"}}"#,
                "[".repeat(5000),
                "]".repeat(5000)
            ),
            Message(InvalidField, None),
        ),
        (
            "repeated field",
            Agent,
            s(r#"{"type":"ping","seq":1,"seq":2}"#),
            Message(InvalidField, Some(1)),
        ),
        (
            "repeated type",
            Agent,
            s(r#"{"type":"ping","seq":1,"type":"ping"}"#),
            Message(InvalidField, Some(1)),
        ),
        (
            "repeated type, type not first",
            Agent,
            s(r#"{"seq":1,"type":"ping","type":"ping"}"#),
            Message(InvalidField, Some(1)),
        ),
        // Empty strings.
        (
            "empty conversation",
            Connector,
            cm(&["conversation"], Some(json!(""))),
            Message(InvalidField, Some(2)),
        ),
        (
            "empty text",
            Connector,
            cm(&["text"], Some(json!(""))),
            Message(InvalidField, Some(2)),
        ),
        (
            "empty tag",
            Connector,
            cm(&["customer", "tags"], Some(json!(["a", ""]))),
            Message(InvalidField, Some(2)),
        ),
        (
            "empty client",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":1,"client":""}"#),
            Message(InvalidField, Some(1)),
        ),
        // Strings and lists over their limits.
        (
            "text over limit",
            Connector,
            cm(&["text"], Some(json!("字".repeat(MAX_TEXT_CHARS + 1)))),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "conversation over limit",
            Connector,
            cm(&["conversation"], Some(json!("c".repeat(MAX_ID_LEN + 1)))),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "message_id over limit in bytes",
            Connector,
            cm(&["message_id"], Some(json!("字".repeat(43)))),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "customer.id over limit",
            Connector,
            cm(&["customer", "id"], Some(json!("u".repeat(MAX_ID_LEN + 1)))),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "tag over limit",
            Connector,
            cm(
                &["customer", "tags"],
                Some(json!(["t".repeat(MAX_ID_LEN + 1)])),
            ),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "too many tags",
            Connector,
            cm(&["customer", "tags"], Some(json!(vec!["t"; MAX_TAGS + 1]))),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "name over limit",
            Connector,
            cm(
                &["customer", "name"],
                Some(json!("名".repeat(MAX_NAME_CHARS + 1))),
            ),
            Message(FieldTooLong, Some(2)),
        ),
        (
            "agent text over limit",
            Agent,
            format!(
                r#"{{"type":"message","seq":5,"conversation":"c","message_id":"m","text":"{}"}}"#,
                "a".repeat(MAX_TEXT_CHARS + 1)
            ),
            Message(FieldTooLong, Some(5)),
        ),
        (
            "handoff reason over limit",
            Agent,
            format!(
                r#"{{"type":"bot_handoff","seq":5,"conversation":"c","reason":"{}"}}"#,
                "因".repeat(MAX_REASON_CHARS + 1)
            ),
            Message(FieldTooLong, Some(5)),
        ),
        (
            "handoff summary over limit",
            Agent,
            format!(
                r#"{{"type":"bot_handoff","seq":5,"conversation":"c","reason":"r","summary":"{}"}}"#,
                "总".repeat(MAX_SUMMARY_CHARS + 1)
            ),
            Message(FieldTooLong, Some(5)),
        ),
        (
            "session over limit",
            Agent,
            format!(
                r#"{{"type":"hello","seq":1,"protocol":1,"client":"x","resume":{{"session":"{}","last_seq":1}}}}"#,
                "s".repeat(MAX_ID_LEN + 1)
            ),
            Message(FieldTooLong, Some(1)),
        ),
        // Tiers.
        (
            "unknown tier",
            Connector,
            cm(&["customer", "tier"], Some(json!("gold"))),
            Message(InvalidField, Some(2)),
        ),
        (
            "tier a number",
            Connector,
            cm(&["customer", "tier"], Some(json!(5))),
            Message(InvalidField, Some(2)),
        ),
        (
            "tier in wrong case",
            Connector,
            cm(&["customer", "tier"], Some(json!("VIP"))),
            Message(InvalidField, Some(2)),
        ),
        (
            "vip_level zero",
            Connector,
            cm(&["customer", "vip_level"], Some(json!(0))),
            Message(InvalidField, Some(2)),
        ),
        (
            "vip_level ten",
            Connector,
            cm(&["customer", "vip_level"], Some(json!(10))),
            Message(InvalidField, Some(2)),
        ),
        (
            "vip_level beyond u8",
            Connector,
            cm(&["customer", "vip_level"], Some(json!(300))),
            Message(InvalidField, Some(2)),
        ),
        // Sentiment.
        (
            "sentiment above 1",
            Connector,
            cm(&["sentiment"], Some(json!(1.5))),
            Message(InvalidField, Some(2)),
        ),
        (
            "sentiment below -1",
            Connector,
            cm(&["sentiment"], Some(json!(-1.01))),
            Message(InvalidField, Some(2)),
        ),
        (
            "sentiment beyond f32",
            Connector,
            cm(&["sentiment"], Some(json!(1e39))),
            Message(InvalidField, Some(2)),
        ),
        (
            "sentiment a string",
            Connector,
            cm(&["sentiment"], Some(json!("0.5"))),
            Message(InvalidField, Some(2)),
        ),
        // Non-finite numbers: not JSON when spelled out, out of range when written as digits.
        (
            "NaN literal",
            Connector,
            cm(&["sentiment"], Some(json!(0.25))).replace("0.25", "NaN"),
            Frame(InvalidJson),
        ),
        (
            "Infinity literal",
            Connector,
            cm(&["sentiment"], Some(json!(0.25))).replace("0.25", "Infinity"),
            Frame(InvalidJson),
        ),
        (
            "-Infinity literal",
            Connector,
            cm(&["sentiment"], Some(json!(0.25))).replace("0.25", "-Infinity"),
            Frame(InvalidJson),
        ),
        (
            "sentiment 1e999",
            Connector,
            cm(&["sentiment"], Some(json!(0.25))).replace("0.25", "1e999"),
            Message(InvalidField, Some(2)),
        ),
        (
            "order_value 1e999",
            Connector,
            cm(&["order_value"], Some(json!(7))).replace(":7", ":1e999"),
            Message(InvalidField, Some(2)),
        ),
        (
            "seq 1e999",
            Agent,
            s(r#"{"type":"ping","seq":1e999}"#),
            Message(InvalidField, None),
        ),
        (
            "NaN in a batch",
            Agent,
            s(r#"[{"type":"ping","seq":NaN}]"#),
            Frame(InvalidJson),
        ),
        (
            "1e999 in a batch",
            Agent,
            s(r#"[{"type":"ping","seq":1e999}]"#),
            Message(InvalidField, None),
        ),
        // Versions.
        (
            "protocol 2",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":2,"client":"x"}"#),
            Message(UnsupportedVersion, Some(1)),
        ),
        (
            "protocol 0",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":0,"client":"x"}"#),
            Message(UnsupportedVersion, Some(1)),
        ),
        (
            "protocol 2 with new fields",
            Agent,
            s(r#"{"type":"hello","seq":1,"protocol":2,"client":"x","features":["zstd"]}"#),
            Message(UnsupportedVersion, Some(1)),
        ),
        (
            "protocol beyond u32",
            Agent,
            s(r#"{"client":"x","protocol":99999999999,"seq":1,"type":"hello"}"#),
            Message(UnsupportedVersion, Some(1)),
        ),
        // Transfer targets.
        (
            "transfer without target",
            Agent,
            s(r#"{"type":"transfer","seq":6,"conversation":"c"}"#),
            Message(InvalidField, Some(6)),
        ),
        (
            "transfer with both targets",
            Agent,
            s(r#"{"type":"transfer","seq":6,"conversation":"c","to_queue":"q","to_agent":"a"}"#),
            Message(InvalidField, Some(6)),
        ),
        (
            "transfer to empty queue",
            Agent,
            s(r#"{"type":"transfer","seq":6,"conversation":"c","to_queue":""}"#),
            Message(InvalidField, Some(6)),
        ),
    ]
}

#[test]
fn bad_inputs_map_to_documented_codes() {
    let mut failures = Vec::new();
    for (name, role, frame, expect) in bad_inputs() {
        let outcome = decode_client(&frame, role);
        let ok = match (expect, &outcome) {
            (Expect::Frame(code), Err(e)) => e.code == code && e.index.is_none() && e.seq.is_none(),
            (Expect::Message(code, seq), Ok(results)) => {
                results.len() == 1
                    && matches!(&results[0], Err(e) if e.code == code && e.seq == seq)
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{name}: expected {expect:?}, got {outcome:?}"));
        }
        for error in errors(&outcome) {
            assert!(
                !error.message.contains(SECRET) && !error.message.contains("李女士"),
                "{name}: error message echoes client data: {}",
                error.message
            );
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn vip_level_needs_the_vip_tier() {
    let mut msg = minimal_customer_message();
    msg.seq = 8;
    let frame = encode_client(&ClientMessage::CustomerMessage(msg))
        .replace(r#""tier":"standard""#, r#""tier":"standard","vip_level":2"#);
    let results = decode_client(&frame, ClientRole::Connector).expect("frame");
    let error = results[0].as_ref().expect_err("refused");
    assert_eq!((error.code, error.seq), (ErrorCode::InvalidField, Some(8)));
    assert!(
        error.message.contains("customer.vip_level"),
        "{}",
        error.message
    );
}

fn errors<T>(
    outcome: &Result<Vec<Result<T, ProtocolError>>, ProtocolError>,
) -> Vec<&ProtocolError> {
    match outcome {
        Err(e) => vec![e],
        Ok(results) => results.iter().filter_map(|r| r.as_ref().err()).collect(),
    }
}

#[test]
fn error_messages_name_the_field() {
    use serde_json::json;
    let cases = [
        (
            customer_message_with(&["customer", "tier"], Some(json!("gold"))),
            "customer.tier",
        ),
        (
            customer_message_with(&["customer", "tier"], Some(json!(5))),
            "customer.tier",
        ),
        (
            customer_message_with(&["customer", "id"], None),
            "customer.id",
        ),
        (
            customer_message_with(&["customer", "tags"], Some(json!(["a", 5]))),
            "customer.tags[1]",
        ),
        (
            customer_message_with(&["customer", "tags"], Some(json!(["a", ""]))),
            "customer.tags[1]",
        ),
        (
            customer_message_with(&["customer", "phone"], Some(json!(SECRET))),
            "customer.phone",
        ),
        (
            customer_message_with(&["sentiment"], Some(json!(2.0))),
            "sentiment",
        ),
        (customer_message_with(&["text"], Some(json!(1))), "text"),
        (
            customer_message_with(&["conversation"], Some(json!(""))),
            "conversation",
        ),
        (
            customer_message_with(&["channel"], Some(json!(""))),
            "channel",
        ),
        (
            customer_message_with(&["sentiment"], Some(json!(0.25))).replace("0.25", "1e999"),
            "sentiment",
        ),
    ];
    for (frame, field) in cases {
        for frame in [
            frame.clone(),
            sorted_keys(&frame.replace("1e999", "0.25")),
            frame,
        ] {
            if frame.contains("0.25") {
                continue; // sorted_keys cannot carry 1e999; the original frame covers it.
            }
            let results = decode_client(&frame, ClientRole::Connector).expect("frame");
            let error = results[0].as_ref().expect_err("refused");
            assert!(
                error.message.contains(&format!("`{field}`")),
                "{field}: {}",
                error.message
            );
        }
    }
    // A key that looks like data is not repeated.
    let frame = format!(r#"{{"type":"ping","seq":1,"{SECRET}":1}}"#);
    let results = decode_client(&frame, ClientRole::Agent).expect("frame");
    let error = results[0].as_ref().expect_err("refused");
    assert_eq!(error.message, "unknown field `?`");
}

#[test]
fn a_bad_batch_element_is_reported_by_index_and_the_rest_decode() {
    let frame = format!(
        "[{},{},{},{},{},{}]",
        r#"{"type":"ping","seq":1}"#,
        r#"{"type":"message","seq":2,"conversation":"c","text":"no message_id"}"#,
        encode_client(&ClientMessage::Accept(conv(3))),
        r#"{"type":"customer_message","seq":4}"#,
        r#""not an object""#,
        r#"{"seq":6,"type":"ping"}"#,
    );
    let results = decode_client(&frame, ClientRole::Agent).expect("frame is usable");
    assert_eq!(results.len(), 6);
    assert_eq!(results[0], Ok(ClientMessage::Ping(Ping { seq: 1 })));
    let error = |i: usize| results[i].as_ref().expect_err("refused").clone();
    assert_eq!(
        (error(1).code, error(1).index, error(1).seq),
        (ErrorCode::MissingField, Some(1), Some(2))
    );
    assert_eq!(results[2], Ok(ClientMessage::Accept(conv(3))));
    assert_eq!(
        (error(3).code, error(3).index, error(3).seq),
        (ErrorCode::UnknownType, Some(3), Some(4))
    );
    assert_eq!(
        (error(4).code, error(4).index, error(4).seq),
        (ErrorCode::InvalidFrame, Some(4), None)
    );
    assert_eq!(results[5], Ok(ClientMessage::Ping(Ping { seq: 6 })));
}

#[test]
fn a_single_message_error_has_no_index() {
    let results = decode_client(r#"{"type":"ping"}"#, ClientRole::Agent).expect("frame");
    assert_eq!(results[0].as_ref().expect_err("refused").index, None);
}

#[test]
fn decode_server_ignores_unknown_fields_and_refuses_unknown_types() {
    let frame = r#"{"type":"ack","seq":3,"added_in_1_1":{"x":[1,2]}}"#;
    assert_eq!(
        decode_server(frame),
        Ok(vec![Ok(ServerMessage::Ack(Ack { seq: 3 }))])
    );
    let frame = r#"[{"type":"typing","seq":7,"conversation":"c"},{"type":"pong","seq":2}]"#;
    let results = decode_server(frame).expect("frame");
    let error = results[0].as_ref().expect_err("unknown type");
    assert_eq!(
        (error.code, error.index, error.seq),
        (ErrorCode::UnknownType, Some(0), Some(7))
    );
    assert_eq!(results[1], Ok(ServerMessage::Pong(Pong { seq: 2 })));
    // Client types are not server types.
    let results = decode_server(r#"{"type":"accept","seq":1,"conversation":"c"}"#).expect("frame");
    assert_eq!(
        results[0].as_ref().expect_err("refused").code,
        ErrorCode::UnknownType
    );
}

#[test]
fn protocol_errors_become_error_frames() {
    let results = decode_client(r#"[{"type":"ping"}]"#, ClientRole::Agent).expect("frame");
    let error = results[0].clone().expect_err("refused");
    let frame = encode_server(&ServerMessage::from(error.clone()));
    assert_eq!(
        frame,
        format!(
            r#"{{"type":"error","code":"missing_field","message":"{}","index":0}}"#,
            error.message
        )
    );
    assert_eq!(
        ProtocolError::from_code(ErrorCode::OutOfOrder)
            .with_seq(9)
            .with_index(1),
        ProtocolError {
            code: ErrorCode::OutOfOrder,
            message: ErrorCode::OutOfOrder.description().into(),
            index: Some(1),
            seq: Some(9),
        }
    );
}

#[test]
fn error_codes_are_stable_and_complete() {
    let mut names = BTreeSet::new();
    for code in ErrorCode::ALL {
        assert!(names.insert(code.as_str()), "duplicate {code}");
        assert_eq!(
            serde_json::to_string(&code).expect("code"),
            format!("\"{code}\"")
        );
        assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
    }
    assert_eq!(ErrorCode::from_name("nope"), None);
    let fatal: Vec<_> = ErrorCode::ALL
        .into_iter()
        .filter(|c| c.closes_connection())
        .collect();
    assert_eq!(
        fatal,
        [
            ErrorCode::UnsupportedVersion,
            ErrorCode::NotHello,
            ErrorCode::Unauthorized
        ]
    );
}

#[test]
fn debug_output_hides_personal_data() {
    for (_, msg) in client_messages() {
        let debug = format!("{msg:?}");
        for secret in ["李女士", "u-5521", "快递", "您好", "权限", "物流"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
    for msg in server_messages() {
        let debug = format!("{msg:?}");
        for secret in ["李女士", "u-55", "快递", "SF1234567890", "E2025", "着急"] {
            assert!(!debug.contains(secret), "{debug}");
        }
    }
}

#[test]
fn accessors_agree_with_the_wire() {
    for (_, msg) in client_messages() {
        let value: serde_json::Value = serde_json::from_str(&encode_client(&msg)).expect("json");
        assert_eq!(value["type"], msg.type_name());
        assert_eq!(value["seq"], msg.seq());
        assert_eq!(value["conversation"].as_str(), msg.conversation());
        assert_eq!(value["message_id"].as_str(), msg.message_id());
    }
    for msg in server_messages() {
        let value: serde_json::Value = serde_json::from_str(&encode_server(&msg)).expect("json");
        assert_eq!(value["type"], msg.type_name());
        let connection_frame = matches!(
            msg,
            ServerMessage::Welcome(_)
                | ServerMessage::Ack(_)
                | ServerMessage::Error(_)
                | ServerMessage::Pong(_)
        );
        assert_eq!(msg.seq().is_none(), connection_frame);
        if let Some(seq) = msg.seq() {
            assert_eq!(value["seq"], seq);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The document: every example decodes, the walkthrough obeys the rules it states
// ---------------------------------------------------------------------------------------------

const DOC: &str = include_str!("../docs/protocol.md");

/// Fenced blocks as (info string, body).
fn fenced_blocks() -> Vec<(&'static str, String)> {
    let mut blocks = Vec::new();
    let mut lines = DOC.lines();
    while let Some(line) = lines.next() {
        if let Some(info) = line.strip_prefix("```") {
            let body: Vec<&str> = lines
                .by_ref()
                .take_while(|l| !l.starts_with("```"))
                .collect();
            blocks.push((info.trim(), body.join("\n")));
        }
    }
    blocks
}

#[test]
fn every_json_example_in_the_doc_decodes() {
    let mut client_types = BTreeSet::new();
    let mut server_types = BTreeSet::new();
    let mut examples = 0;
    for (info, body) in fenced_blocks() {
        let role = match info {
            "json connector" => Some(ClientRole::Connector),
            "json agent" => Some(ClientRole::Agent),
            "json server" => None,
            "text walkthrough" => continue,
            other => panic!("unlabelled block `{other}`: label JSON examples with their direction"),
        };
        examples += 1;
        match role {
            Some(role) => {
                for result in decode_client(&body, role).unwrap_or_else(|e| panic!("{e}: {body}")) {
                    let msg = result.unwrap_or_else(|e| panic!("{e}: {body}"));
                    client_types.insert(msg.type_name());
                }
            }
            None => {
                for result in decode_server(&body).unwrap_or_else(|e| panic!("{e}: {body}")) {
                    let msg = result.unwrap_or_else(|e| panic!("{e}: {body}"));
                    server_types.insert(msg.type_name());
                }
            }
        }
    }
    assert!(examples > 30, "found {examples} examples");
    assert_eq!(
        client_types.len(),
        13,
        "client types with an example: {client_types:?}"
    );
    assert_eq!(
        server_types.len(),
        14,
        "server types with an example: {server_types:?}"
    );
}

#[test]
fn the_walkthrough_decodes_and_keeps_its_promises() {
    let (_, body) = fenced_blocks()
        .into_iter()
        .find(|(info, _)| *info == "text walkthrough")
        .expect("a walkthrough");
    // Join continuation lines (indented) to the line they continue.
    let mut entries: Vec<String> = Vec::new();
    for line in body.lines() {
        match entries.last_mut() {
            Some(last) if line.starts_with(' ') => last.push_str(line.trim()),
            _ => entries.push(line.to_owned()),
        }
    }
    let mut last_server_seq = std::collections::HashMap::new();
    let mut last_client_seq = std::collections::HashMap::new();
    let mut saw_hello = BTreeSet::new();
    for entry in &entries {
        let json_start = entry.find('{').expect("a frame");
        let (head, frame) = entry.split_at(json_start);
        let mut head = head.split_whitespace();
        let who = head.next().expect("who");
        let arrow = head.next().expect("arrow");
        let role = match who {
            "connector" => ClientRole::Connector,
            "bot" | "agent" => ClientRole::Agent,
            other => panic!("unknown party {other}"),
        };
        match arrow {
            "→" => {
                let msg = decode_one(frame, role);
                if msg.type_name() == "hello" {
                    saw_hello.insert(who);
                }
                let last = last_client_seq.insert(who, msg.seq());
                assert!(last < Some(msg.seq()), "client seq increases: {entry}");
            }
            "←" => {
                let results = decode_server(frame).unwrap_or_else(|e| panic!("{e}: {entry}"));
                for msg in results {
                    let msg = msg.unwrap_or_else(|e| panic!("{e}: {entry}"));
                    if let ServerMessage::Ack(ack) = &msg {
                        assert!(
                            last_client_seq.get(who).is_some_and(|s| *s >= ack.seq),
                            "acks only what was sent: {entry}"
                        );
                    }
                    if let Some(seq) = msg.seq() {
                        if let Some(last) = last_server_seq.insert(who, seq) {
                            assert_eq!(seq, last + 1, "server seq is contiguous: {entry}");
                        }
                    }
                }
            }
            other => panic!("unknown arrow {other}"),
        }
    }
    assert!(saw_hello.contains("connector"));
    assert!(entries.iter().any(|e| e.contains("转人工")));
}

/// docs/protocol.md promises server frames of at most 2 MiB. The largest offer there can be:
/// every field at its documented limit, every byte one that JSON escapes six-fold (`\u0001`),
/// and as many lines as `transcript_messages` allows sharing the most `transcript_bytes` allows.
#[test]
fn the_largest_offer_fits_the_documented_frame_bound() {
    use switchboard::gateway::session::MAX_SERVER_FRAME_BYTES;
    use switchboard_config::TRANSCRIPT_BYTES_MAX;
    let escaped = |n: usize| "\u{1}".repeat(n);
    let lines = 1000;
    let line_bytes = TRANSCRIPT_BYTES_MAX as usize / lines;
    let transcript = (0..lines)
        .map(|_| TranscriptLine {
            at: u64::MAX,
            from: Speaker::Customer,
            text: escaped(line_bytes - 128).into(),
            message_id: escaped(128),
        })
        .collect();
    let offer = ServerMessage::Offer(Box::new(Offer {
        seq: u64::MAX,
        conversation: escaped(128),
        auto_accepted: false,
        expires_in_secs: Some(u32::MAX),
        context: OfferContext {
            queue: escaped(128),
            class: Class::Complaint,
            customer: OfferCustomer {
                id: escaped(128).into(),
                tier: Tier::Vip(9),
                tags: vec![escaped(128); 32],
                name: Some(escaped(128).into()),
            },
            channel: escaped(128),
            language: escaped(128),
            intent: Some(escaped(128)),
            order_value: Some(u64::MAX),
            waited_secs: u32::MAX,
            returning_customer: true,
            handoff: Some(HandoffContext {
                reason: HandoffReason::NegativeSentiment,
                bot_reason: Some(escaped(256).into()),
                bot_summary: Some(escaped(4096).into()),
                sentiment: Some(-0.123_456_79),
                sentiment_trend: vec![-0.123_456_79; 100],
            }),
            transcript,
            transcript_truncated: Some(u32::MAX),
            order_numbers: vec!["1".repeat(20).into(); 10],
            tracking_numbers: vec!["1".repeat(20).into(); 10],
        },
    }));
    let size = encode_server(&offer).len();
    assert!(
        size <= MAX_SERVER_FRAME_BYTES,
        "the largest offer takes {size} bytes, over {MAX_SERVER_FRAME_BYTES}"
    );
}

#[test]
fn the_doc_lists_every_error_code() {
    for code in ErrorCode::ALL {
        assert!(
            DOC.contains(&format!("| `{code}` |")),
            "docs/protocol.md has no row for `{code}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/// What must hold for any input: no panic (implicitly), indices that match positions, batch
/// sizes within the limit, and error messages that never echo the secret.
fn check_any_frame(frame: &str) {
    for role in [ClientRole::Connector, ClientRole::Agent] {
        let outcome = decode_client(frame, role);
        check_outcome(frame, &outcome);
    }
    check_outcome(frame, &decode_server(frame));
}

fn check_outcome<T>(frame: &str, outcome: &Result<Vec<Result<T, ProtocolError>>, ProtocolError>) {
    match outcome {
        Err(e) => assert_eq!(e.index, None, "{frame}"),
        Ok(results) => {
            assert!((1..=MAX_BATCH).contains(&results.len()), "{frame}");
            let batch = frame.trim_start().starts_with('[');
            for (i, result) in results.iter().enumerate() {
                if let Err(e) = result {
                    assert_eq!(e.index, batch.then_some(i), "{frame}");
                }
            }
        }
    }
    for error in errors(outcome) {
        assert!(
            !error.message.contains(SECRET),
            "{frame} → {}",
            error.message
        );
        assert!(!error.message.is_empty());
    }
}

/// Keys and values that reach deep into the decoder, plus the secret.
fn json_ish() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let key = prop_oneof![
        Just("type"),
        Just("seq"),
        Just("conversation"),
        Just("message_id"),
        Just("text"),
        Just("customer"),
        Just("id"),
        Just("tier"),
        Just("vip_level"),
        Just("tags"),
        Just("channel"),
        Just("sentiment"),
        Just("protocol"),
        Just("client"),
        Just("resume"),
        Just("to_queue"),
        Just("to_agent"),
        Just("status"),
        Just("reason"),
        Just(SECRET),
    ]
    .prop_map(str::to_owned);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("hello"),
            Just("customer_message"),
            Just("message"),
            Just("ping"),
            Just("transfer"),
            Just("vip"),
            Just("standard"),
            Just("available"),
            Just(""),
            Just(SECRET),
        ]
        .prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key.clone(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// A valid customer message with arbitrary text: quotes, escapes, control characters, emoji.
fn any_customer_message() -> impl Strategy<Value = CustomerMessage> {
    let text = || proptest::collection::vec(any::<char>(), 1..24).prop_map(String::from_iter);
    (
        (any::<u64>(), text(), text(), text(), text()),
        (
            prop_oneof![Just(Tier::Standard), (1u8..=9).prop_map(Tier::Vip)],
            proptest::collection::vec(text(), 0..4),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(-1.0f32..=1.0),
        ),
    )
        .prop_map(
            |(
                (seq, conversation, message_id, body, id),
                (tier, tags, name, order_value, sentiment),
            )| {
                CustomerMessage {
                    seq,
                    conversation,
                    message_id,
                    text: body.into(),
                    customer: Some(Customer {
                        id: id.into(),
                        tier,
                        tags,
                        name: name.map(Into::into),
                    }),
                    channel: Some("app".into()),
                    language: Some("en".into()),
                    intent: None,
                    order_value,
                    sentiment,
                    sent_at: Some(seq / 2),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        check_any_frame(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn decode_never_panics_on_json_ish_text(text in "[\\[\\]{}\":,0-9a-z_ .eE+\\-\\\\ntru]{0,96}") {
        check_any_frame(&text);
    }

    #[test]
    fn decode_never_panics_on_json_ish_values(value in json_ish()) {
        check_any_frame(&serde_json::to_string(&value).expect("serializable"));
    }

    #[test]
    fn decode_never_panics_on_damaged_messages(
        index in 0..client_messages().len(),
        cut in any::<prop::sample::Index>(),
        byte in any::<u8>(),
    ) {
        let (_, msg) = &client_messages()[index];
        let frame = encode_client(msg);
        let mut at = cut.index(frame.len());
        while !frame.is_char_boundary(at) {
            at -= 1;
        }
        check_any_frame(&frame[..at]);
        let mut damaged = frame.into_bytes();
        damaged[at] = byte;
        check_any_frame(&String::from_utf8_lossy(&damaged));
    }

    #[test]
    fn customer_messages_round_trip(msg in any_customer_message()) {
        let msg = ClientMessage::CustomerMessage(msg);
        let frame = encode_client(&msg);
        prop_assert_eq!(decode_client(&frame, ClientRole::Connector), Ok(vec![Ok(msg.clone())]));
        prop_assert_eq!(decode_client(&sorted_keys(&frame), ClientRole::Connector), Ok(vec![Ok(msg)]));
    }
}
