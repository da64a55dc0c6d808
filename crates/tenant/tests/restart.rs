//! A restart as recovery will play it: the core is rebuilt from a snapshot 30 s after it was
//! taken, told `Restarted`, and its clients come back. Then what a configuration change may and
//! may not do to a snapshot.

mod common;

use common::{Harness, Op};
use switchboard_protocol::ServerMessage;
use switchboard_router::{AgentId, ConversationId, Millis, QueueId, State};
use switchboard_tenant::{CoreSnapshot, Input, RestoreError, TenantCore};

const OUTAGE_MS: u64 = 30_000;
const GENERAL: QueueId = QueueId(0);
/// Agent 2 of the harness is the first agent it connects: router id 0.
const A2: AgentId = AgentId(0);

fn customer(c: usize, conv: u8) -> Op {
    Op::Customer {
        c,
        conv,
        msg: 0,
        text: 0,
        profile: true,
    }
}

fn waiting(h: &Harness) -> Vec<(ConversationId, Millis)> {
    h.core
        .router()
        .waiting(GENERAL)
        .map(|id| (id, h.core.router().conversation(id).unwrap().waiting_since))
        .collect()
}

/// Connector 0 and agent 2 (capacity 2): k0 accepted by the agent, k1 offered to it and
/// pending, k2 and k3 waiting; then the connector's outbox fills and the agent writes to k0,
/// so the connector has not received that frame when the process dies.
fn before_the_crash() -> Harness {
    let mut h = Harness::new(11);
    h.step(Op::Connect { who: 0, resume: 0 });
    h.step(Op::Connect { who: 2, resume: 0 });
    h.step(customer(0, 0));
    h.step(Op::Accept { who: 2, pick: 0 });
    for conv in 1..4 {
        h.step(Op::Time { ms: 1_000 });
        h.step(customer(0, conv));
    }
    h.step(Op::Full { who: 0 });
    h.step(Op::AgentMessage {
        who: 2,
        pick: 0,
        msg: 1,
    });
    h
}

/// The snapshot through its bytes, restored under the same configuration.
fn crash_and_restore(h: &mut Harness) {
    let bytes = h.core.snapshot().encode();
    let snapshot = CoreSnapshot::decode(&bytes).unwrap();
    let restored = TenantCore::restore(&h.config, h.limits, snapshot).unwrap();
    assert_eq!(restored.state_hash(), h.core.state_hash());
    h.core = restored;
    h.now += OUTAGE_MS;
    h.apply(Input::Restarted);
}

fn id(wire: &str) -> ConversationId {
    ConversationId(wire.parse().unwrap())
}

#[test]
fn after_a_30_s_outage_everyone_keeps_their_place_and_resumes() {
    let mut h = before_the_crash();
    let accepted = id(&h.clients[2].offered[0]);
    let pending = id(&h.clients[2].offered[1]);
    assert_eq!(
        h.core.router().conversation(pending).unwrap().state,
        State::Offered
    );
    let waited_before = waiting(&h);
    assert_eq!(waited_before.len(), 2, "k2 and k3 wait");
    let pending_since = h.core.router().conversation(pending).unwrap().waiting_since;
    let (token, last_seen) = (h.clients[0].token.clone(), h.clients[0].last_seen);
    let restart_at = h.now + OUTAGE_MS;

    crash_and_restore(&mut h);

    assert!(
        h.clients.iter().all(|c| c.conn.is_none()),
        "no connection survives"
    );
    let agent = h.core.router().agent(A2).unwrap();
    assert!(!agent.connected, "the agent is detached at the restart");
    assert_eq!(
        agent.held,
        &[accepted],
        "its accepted conversation is still its own"
    );
    let k0 = h.core.router().conversation(accepted).unwrap();
    assert_eq!((k0.state, k0.agent), (State::Assigned, Some(A2)));
    // The pending offer went back (the agent cannot answer it), with its original wait.
    let k1 = h.core.router().conversation(pending).unwrap();
    assert_eq!(
        (k1.state, k1.waiting_since),
        (State::Waiting, pending_since)
    );
    let after: Vec<_> = waiting(&h)
        .into_iter()
        .filter(|w| *w != (pending, pending_since))
        .collect();
    assert_eq!(
        after, waited_before,
        "the waiting keep their order and waiting_since"
    );

    // 20 s later, inside the grace period that started at the restart: nothing has ended.
    h.pass(20_000);
    assert!(h
        .core
        .router()
        .agent(A2)
        .is_some_and(|a| a.held == [accepted]));
    assert_eq!(h.core.router().open_conversations(), 4);

    // A fresh agent is offered the conversation whose offer the restart took back.
    h.step(Op::Connect { who: 3, resume: 0 });
    assert!(h.clients[3].offered.contains(&pending.0.to_string()));

    // The agent resumes within its grace and is told what it still holds.
    let read = h.clients[2].received.len();
    h.step(Op::Connect { who: 2, resume: 1 });
    let resumed: Vec<_> = h.clients[2].received[read..]
        .iter()
        .filter_map(|m| match m {
            ServerMessage::Resumed(r) => Some(r.conversations.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(resumed, vec![vec![accepted.0.to_string()]]);

    // The connector resumes with its old token and gets exactly what it had not received.
    let read = h.clients[0].received.len();
    h.step(Op::Connect { who: 0, resume: 1 });
    let got = &h.clients[0].received[read..];
    let ServerMessage::Welcome(welcome) = &got[0] else {
        panic!("welcome first, got {:?}", got[0]);
    };
    assert_eq!(Some(&welcome.session), token.as_ref());
    assert!(welcome.resumed && !welcome.gap);
    let seqs: Vec<u64> = got.iter().filter_map(ServerMessage::seq).collect();
    let expected: Vec<u64> = (last_seen + 1..=last_seen + u64::from(welcome.replayed)).collect();
    assert!(
        welcome.replayed >= 1,
        "the agent's reply was never received"
    );
    assert_eq!(
        seqs[..expected.len()],
        expected[..],
        "in order, once, from last_seq + 1"
    );
    assert!(got.iter().any(|m| matches!(m, ServerMessage::Reply(_))));

    assert!(
        h.clients
            .iter()
            .flat_map(|c| &c.received)
            .all(|m| !matches!(m, ServerMessage::Closed(_))),
        "nobody's conversation ended because of the outage"
    );
    assert!(h.now >= restart_at);
}

#[test]
fn an_agent_who_does_not_come_back_loses_its_conversations_only_after_a_full_grace() {
    let mut h = before_the_crash();
    let accepted = id(&h.clients[2].offered[0]);
    crash_and_restore(&mut h);
    let grace_ms = Millis::from(h.config.timing.agent_grace_secs) * 1000;
    h.pass(grace_ms - 1);
    assert_eq!(
        h.core.router().conversation(accepted).unwrap().agent,
        Some(A2)
    );
    h.pass(1);
    let k0 = h.core.router().conversation(accepted).unwrap();
    assert_eq!(
        k0.state,
        State::Waiting,
        "taken back after the grace, not ended"
    );
    assert!(k0.rescued);
}

#[test]
fn restarted_after_a_shutdown_detaches_the_sessions_the_shutdown_closed() {
    let mut h = before_the_crash();
    h.apply(Input::Shutdown);
    crash_and_restore(&mut h);
    assert!(!h.core.router().agent(A2).unwrap().connected);
    assert_eq!(h.core.session_counts().connected, 0);
    h.step(Op::Connect { who: 2, resume: 1 });
    assert!(h.clients[2]
        .received
        .iter()
        .any(|m| matches!(m, ServerMessage::Resumed(r) if r.conversations.len() == 1)));
}

#[test]
fn a_snapshot_does_not_fit_a_configuration_whose_queues_changed() {
    let h = before_the_crash();
    let restore = |edit: &dyn Fn(&mut switchboard_config::TenantConfig)| {
        let mut config = h.config.clone();
        edit(&mut config);
        TenantCore::restore(&config, h.limits, h.core.snapshot())
    };
    let renamed = restore(&|c| {
        c.queues[1].name = "returns".into();
        for rule in &mut c.routes {
            if rule.queue == "after_sales" {
                rule.queue = "returns".into();
            }
        }
    });
    let Err(RestoreError::Incompatible(reason)) = renamed else {
        panic!("a renamed queue is incompatible");
    };
    assert!(
        reason.contains("after_sales") && reason.contains("returns"),
        "{reason}"
    );

    let removed = restore(&|c| {
        c.queues.remove(2);
        c.routes.retain(|r| r.queue != "vip");
    });
    let Err(RestoreError::Incompatible(reason)) = removed else {
        panic!("a removed queue is incompatible");
    };
    assert!(reason.contains("vip"), "{reason}");

    let reskilled = restore(&|c| c.queues[0].skills.push("english".into()));
    let Err(RestoreError::Incompatible(reason)) = reskilled else {
        panic!("a queue's new skill is incompatible");
    };
    assert!(
        reason.contains("general") && reason.contains("english"),
        "{reason}"
    );

    let mut other = h.config.clone();
    other.id = "other".into();
    assert!(matches!(
        TenantCore::restore(&other, h.limits, h.core.snapshot()),
        Err(RestoreError::WrongTenant { .. })
    ));
}

#[test]
fn a_snapshot_restores_under_a_changed_sla_target_and_the_new_target_applies() {
    let mut h = before_the_crash();
    let mut config = h.config.clone();
    config.sla.standard_secs = 1;
    config.timing.offer_timeout_secs += 5;
    let restored = TenantCore::restore(&config, h.limits, h.core.snapshot()).unwrap();
    assert_eq!(restored.state_hash(), h.core.state_hash());
    h.core = restored;
    // The next customer to reach an agent, after waiting 5 s more, is measured against the
    // new 1 s target (the old one was 180 s).
    h.step(Op::Time { ms: 5_000 });
    h.step(Op::Connect { who: 3, resume: 0 });
    h.step(Op::Accept { who: 3, pick: 0 });
    let sla_met: Vec<bool> = h
        .trace
        .iter()
        .filter(|line| line.contains("WaitObserved"))
        .map(|line| line.contains("sla_met: true"))
        .collect();
    assert_eq!(sla_met.last(), Some(&false), "{sla_met:?}");
}
