//! Journal records: every input variant, every client message variant (with every optional
//! field present and absent) and every identity comes back from its record equal to itself.

use std::collections::BTreeMap;

use proptest::prelude::*;
use switchboard_protocol::{
    AgentMessage, AgentStatus as WireStatus, BotHandoff, BotResult, ClientMessage, ConversationRef,
    Customer, CustomerMessage, Hello, Ping, Private, Resume, SetStatus, Tier, Transfer,
    TransferTarget,
};
use switchboard_router::AgentStatus;
use switchboard_tenant::{Claims, Identity, Input, RecordError, Role};

fn round_trip(input: &Input) -> Input {
    let mut record = Vec::new();
    input.encode(&mut record);
    Input::decode(&record).unwrap()
}

fn conversation(seq: u64) -> ConversationRef {
    ConversationRef {
        seq,
        conversation: "k-1".into(),
    }
}

fn customer_message(full: bool) -> CustomerMessage {
    CustomerMessage {
        seq: 2,
        conversation: "k-1".into(),
        message_id: "m-1".into(),
        text: Private::from("我的订单 \"123\" 还没到\n\\"),
        customer: full.then(|| Customer {
            id: Private::from("buyer-9"),
            tier: Tier::Vip(3),
            tags: vec!["new_buyer".into(), "app".into()],
            name: Some(Private::from("王小明")),
        }),
        channel: full.then(|| "wechat".into()),
        language: full.then(|| "zh".into()),
        intent: full.then(|| "logistics".into()),
        order_value: full.then_some(129_900),
        sentiment: full.then_some(-0.337_f32),
        sent_at: full.then_some(1_700_000_000_123),
    }
}

fn hello(resume: bool) -> Hello {
    Hello {
        seq: 1,
        protocol: 1,
        client: "wechat-connector/2.3.1".into(),
        resume: resume.then(|| Resume {
            session: "s-0123".into(),
            last_seq: 41,
        }),
    }
}

/// Every client message variant, optional parts present and absent.
fn every_client_message() -> Vec<ClientMessage> {
    let transfer = |target| Transfer {
        seq: 9,
        conversation: "k-1".into(),
        target,
    };
    let handoff = |summary: Option<&str>| BotHandoff {
        seq: 11,
        conversation: "k-1".into(),
        reason: Private::from("asks for a refund"),
        summary: summary.map(Private::from),
    };
    vec![
        ClientMessage::Hello(hello(false)),
        ClientMessage::Hello(hello(true)),
        ClientMessage::CustomerMessage(customer_message(false)),
        ClientMessage::CustomerMessage(customer_message(true)),
        ClientMessage::CustomerLeft(conversation(3)),
        ClientMessage::Close(conversation(4)),
        ClientMessage::Ping(Ping { seq: 5 }),
        ClientMessage::Status(SetStatus {
            seq: 6,
            status: WireStatus::Away,
        }),
        ClientMessage::Accept(conversation(7)),
        ClientMessage::Reject(conversation(8)),
        ClientMessage::Message(AgentMessage {
            seq: 8,
            conversation: "k-1".into(),
            message_id: "r-1".into(),
            text: Private::from("好的，马上为您查询"),
        }),
        ClientMessage::Transfer(transfer(TransferTarget::Queue("after_sales".into()))),
        ClientMessage::Transfer(transfer(TransferTarget::Agent("a-7".into()))),
        ClientMessage::BotResult(BotResult {
            seq: 10,
            conversation: "k-1".into(),
            resolved: true,
        }),
        ClientMessage::BotHandoff(handoff(None)),
        ClientMessage::BotHandoff(handoff(Some("order 123, late"))),
        ClientMessage::HandBack(conversation(12)),
    ]
}

fn claims(role: Role, name: Option<&str>) -> Claims {
    Claims {
        sub: "a-7".into(),
        tenant: "default".into(),
        role,
        skills: BTreeMap::from([("general".into(), 5), ("vip".into(), 10)]),
        capacity: 4,
        exp: 1_900_000_000,
        name: name.map(String::from),
        auto_accept: role == Role::Bot,
    }
}

#[test]
fn every_client_message_comes_back_from_its_record() {
    for message in every_client_message() {
        let input = Input::Client {
            conn: 7,
            messages: vec![message],
            through: 12,
        };
        assert_eq!(round_trip(&input), input);
    }
    let all = Input::Client {
        conn: u64::MAX,
        messages: every_client_message(),
        through: u64::MAX,
    };
    assert_eq!(round_trip(&all), all);
    let pings_only = Input::Client {
        conn: 1,
        messages: Vec::new(),
        through: 3,
    };
    assert_eq!(round_trip(&pings_only), pings_only);
}

#[test]
fn every_input_variant_and_identity_comes_back_from_its_record() {
    let identities = [
        Identity::Connector {
            name: "wechat".into(),
            tenant: "default".into(),
        },
        Identity::Agent(claims(Role::Agent, Some("Li Lei"))),
        Identity::Agent(claims(Role::Bot, None)),
    ];
    let mut inputs: Vec<Input> = identities
        .into_iter()
        .flat_map(|identity| {
            [false, true].map(|resume| Input::Attach {
                conn: 300,
                identity: identity.clone(),
                hello: hello(resume),
            })
        })
        .collect();
    inputs.extend([
        Input::Detach { conn: 1 },
        Input::Stalled {
            conn: 2,
            seq: 1 << 40,
        },
        Input::AckStalled { conn: 3, seq: 0 },
        Input::Drain { conn: 4, room: 512 },
        Input::FlushAcks,
        Input::Timers,
        Input::Sweep,
        Input::Shutdown,
        Input::Restarted,
    ]);
    for status in [
        AgentStatus::Available,
        AgentStatus::Away,
        AgentStatus::Offline,
    ] {
        inputs.push(Input::SetStatus {
            agent: "a-7".into(),
            status,
        });
    }
    for input in inputs {
        assert_eq!(round_trip(&input), input);
    }
}

#[test]
fn a_bad_record_names_what_and_where() {
    let mut record = Vec::new();
    Input::Detach { conn: 300 }.encode(&mut record);
    let err = Input::decode(&record[..2]).unwrap_err();
    assert!(
        matches!(err, RecordError::Truncated { offset: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("byte 2"), "{err}");
    let err = Input::decode(&[200]).unwrap_err();
    assert!(
        matches!(
            err,
            RecordError::UnknownTag {
                offset: 0,
                tag: 200,
                ..
            }
        ),
        "{err}"
    );
    record.push(0);
    let err = Input::decode(&record).unwrap_err();
    assert!(
        matches!(err, RecordError::Trailing { extra: 1, .. }),
        "{err}"
    );
    // A client message that is not what the protocol accepts: its code, never its content.
    let mut bad = vec![1, 1, 1, 1, 0];
    let json = r#"{"type":"ping","seq":1,"secret":"13800138000"}"#;
    bad.push(json.len() as u8);
    bad.extend_from_slice(json.as_bytes());
    let err = Input::decode(&bad).unwrap_err();
    assert!(
        matches!(err, RecordError::BadMessage { offset: 5, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("13800138000"), "{err}");
}

proptest! {
    #[test]
    fn any_customer_message_comes_back_from_its_record(
        text in "\\PC{1,60}",
        id in "[ -~]{1,40}",
        name in proptest::option::of("\\PC{1,20}"),
        tags in prop::collection::vec("[a-z_\"\\\\]{1,12}", 0..4),
        vip in 0u8..=9,
        sentiment in proptest::option::of(-1.0f32..=1.0),
        order_value in proptest::option::of(any::<u64>()),
        seq in any::<u64>(),
    ) {
        let message = CustomerMessage {
            seq,
            conversation: id.clone(),
            message_id: id.clone(),
            text: Private(text),
            customer: Some(Customer {
                id: Private(id),
                tier: if vip == 0 { Tier::Standard } else { Tier::Vip(vip) },
                tags,
                name: name.map(Private),
            }),
            channel: Some("app".into()),
            language: None,
            intent: None,
            order_value,
            sentiment,
            sent_at: None,
        };
        let input = Input::Client {
            conn: seq,
            messages: vec![ClientMessage::CustomerMessage(message)],
            through: seq,
        };
        prop_assert_eq!(round_trip(&input), input);
    }
}
