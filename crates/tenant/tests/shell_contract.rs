//! The contract between a tenant core and its shell, input by input: what happens to numbered
//! frames a connection could not take, when a connection is closed for a gap, and that what a
//! refused command counts comes from the core's verdict (its effects), not from metrics.

use std::collections::BTreeMap;

use switchboard_config::Config;
use switchboard_protocol::{
    decode_client, decode_server, ClientRole, CloseCode, Hello, ServerMessage,
};
use switchboard_tenant::{
    Claims, CoreLimits, Identity, Input, Observation, Output, Role, TenantCore,
};

const NOW: u64 = 1_700_000_000_000;

fn core(replay_frames: usize) -> TenantCore<String> {
    let config = Config::embedded();
    let mut gateway = config.gateway.clone();
    gateway.replay_frames = replay_frames;
    TenantCore::new(&config.tenants[0], CoreLimits::of(&gateway), [1; 32])
}

fn hello() -> Hello {
    Hello {
        seq: 1,
        protocol: 1,
        client: "test".into(),
        resume: None,
    }
}

fn agent(sub: &str) -> Identity {
    Identity::Agent(Claims {
        sub: sub.into(),
        tenant: "default".into(),
        role: Role::Agent,
        skills: [("general".to_string(), 5)]
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        capacity: 5,
        exp: 0,
        name: None,
        auto_accept: false,
    })
}

fn connector() -> Identity {
    Identity::Connector {
        name: "app".into(),
        tenant: "default".into(),
    }
}

fn apply(core: &mut TenantCore<String>, input: Input) -> Vec<Output<String>> {
    let mut out = Vec::new();
    core.apply(NOW, input, &mut out);
    out
}

/// A client frame of one message.
fn client(conn: u64, seq: u64, json: &str, role: ClientRole) -> Input {
    let messages = decode_client(json, role)
        .expect("a valid frame")
        .into_iter()
        .map(|m| m.expect("a valid message"))
        .collect();
    Input::Client {
        conn,
        messages,
        through: seq,
    }
}

fn opening(seq: u64, conversation: &str) -> String {
    format!(
        r#"{{"type":"customer_message","seq":{seq},"conversation":"{conversation}","message_id":"m{seq}","text":"你好","customer":{{"id":"b","tier":"standard"}},"channel":"app"}}"#
    )
}

/// The numbered frames for `conn` among `out`, with their seqs.
fn sent(out: &[Output<String>], to: u64) -> Vec<u64> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { conn, seq, .. } if *conn == to => Some(*seq),
            _ => None,
        })
        .collect()
}

/// An agent (conn 1) and a connector (conn 2) whose customers wait for the agent's offers.
fn with_offers(core: &mut TenantCore<String>, conversations: u64) -> Vec<Output<String>> {
    apply(
        core,
        Input::Attach {
            conn: 1,
            identity: agent("alice"),
            hello: hello(),
        },
    );
    apply(
        core,
        Input::Attach {
            conn: 2,
            identity: connector(),
            hello: hello(),
        },
    );
    let mut out = Vec::new();
    for n in 0..conversations {
        let frame = opening(n + 2, &format!("k{n}"));
        out.extend(apply(core, client(2, n + 2, &frame, ClientRole::Connector)));
    }
    out
}

#[test]
fn a_stalled_connection_gets_nothing_numbered_until_drained_then_all_in_order() {
    let mut core = core(64);
    apply(
        &mut core,
        Input::Attach {
            conn: 1,
            identity: agent("alice"),
            hello: hello(),
        },
    );
    apply(
        &mut core,
        Input::Attach {
            conn: 2,
            identity: connector(),
            hello: hello(),
        },
    );
    let out = apply(
        &mut core,
        client(2, 2, &opening(2, "k0"), ClientRole::Connector),
    );
    let first = sent(&out, 1);
    assert!(!first.is_empty(), "the agent is offered the conversation");
    // The shell could not write the first of them.
    apply(
        &mut core,
        Input::Stalled {
            conn: 1,
            seq: first[0],
        },
    );
    assert_eq!(core.backlog(1), Some((true, false)));
    let out = apply(
        &mut core,
        client(2, 3, &opening(3, "k1"), ClientRole::Connector),
    );
    assert!(sent(&out, 1).is_empty(), "nothing numbered while it lags");
    // Room for two: the two oldest owed, in order.
    let out = apply(&mut core, Input::Drain { conn: 1, room: 2 });
    assert_eq!(sent(&out, 1), vec![first[0], first[0] + 1]);
    let out = apply(&mut core, Input::Drain { conn: 1, room: 100 });
    let rest = sent(&out, 1);
    assert!(
        rest.windows(2).all(|w| w[1] == w[0] + 1),
        "contiguous: {rest:?}"
    );
    assert_eq!(core.backlog(1), Some((false, false)), "caught up");
}

#[test]
fn a_connection_that_missed_a_dropped_frame_is_closed_for_the_gap() {
    let mut core = core(2);
    let out = with_offers(&mut core, 1);
    let first = sent(&out, 1)[0];
    apply(
        &mut core,
        Input::Stalled {
            conn: 1,
            seq: first,
        },
    );
    let mut closes = Vec::new();
    for n in 10..14 {
        let frame = opening(n, &format!("x{n}"));
        for o in apply(&mut core, client(2, n, &frame, ClientRole::Connector)) {
            if let Output::Close { conn: 1, code } = o {
                closes.push(code);
            }
        }
    }
    assert!(
        closes.contains(&CloseCode::ReplayOverflow),
        "frames it never got were dropped from a buffer of 2: {closes:?}"
    );
}

#[test]
fn a_refused_reject_is_answered_and_not_counted_an_applied_one_is_counted() {
    let mut core = core(64);
    let out = with_offers(&mut core, 1);
    let offered = out
        .iter()
        .find_map(|o| match o {
            Output::Send { conn: 1, frame, .. } => match decode_server(frame).ok()?.pop()?.ok()? {
                ServerMessage::Offer(offer) => Some(offer.conversation.clone()),
                _ => None,
            },
            _ => None,
        })
        .expect("an offer");
    let reject = |conversation: &str, seq: u64| {
        let frame = format!(r#"{{"type":"reject","seq":{seq},"conversation":"{conversation}"}}"#);
        client(1, seq, &frame, ClientRole::Agent)
    };
    let counted = |out: &[Output<String>]| {
        out.iter()
            .filter(|o| matches!(o, Output::Observe(Observation::OfferRejected)))
            .count()
    };
    let refused = apply(&mut core, reject("999", 2));
    assert_eq!(counted(&refused), 0, "not offered: refused, not counted");
    assert!(refused
        .iter()
        .any(|o| matches!(o, Output::Direct { conn: 1, frame } if frame.contains("error"))));
    let applied = apply(&mut core, reject(&offered, 3));
    assert_eq!(counted(&applied), 1);
}
