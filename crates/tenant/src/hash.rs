//! The state hash: a canonical walk of everything the tenant's behaviour depends on, in a
//! fixed order (ids sorted, never a hash map's iteration order), through a fixed-seed hasher.
//! Two cores that were given the same inputs at the same times hash the same; the property
//! tests, and next the journal, use it as their oracle.
//!
//! The router is walked through its public views (conversations, agents, queues, timers), so
//! its private indexes are covered by what they decide, not by their layout.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;
use switchboard_router::{AgentId, ConversationId, QueueId, Router};

use crate::{Frame, TenantCore};

impl<F: Frame> TenantCore<F> {
    /// A 64-bit digest of the whole state (router included).
    pub fn state_hash(&self) -> u64 {
        let mut h = FxHasher::default();
        self.id.hash(&mut h);
        self.now.hash(&mut h);
        self.draws.hash(&mut h);
        self.connectors.in_order().hash(&mut h);
        self.agents.in_order().hash(&mut h);
        let mut agents: Vec<_> = self.agent_info.iter().collect();
        agents.sort_unstable_by_key(|(id, _)| **id);
        for (id, info) in agents {
            id.hash(&mut h);
            info.display_name.hash(&mut h);
            format!("{:?}", info.login).hash(&mut h);
        }
        let mut open: Vec<_> = self.open.iter().collect();
        open.sort_unstable();
        open.hash(&mut h);
        let mut external: Vec<_> = self.external.iter().collect();
        external.sort_unstable();
        external.hash(&mut h);
        let mut recent: Vec<_> = self.recent.iter().collect();
        recent.sort_unstable_by_key(|(id, _)| **id);
        recent.hash(&mut h);
        self.admission.hash_into(&mut h);
        self.hash_sessions(&mut h);
        self.acks_due.hash(&mut h);
        self.windows.hash_into(&mut h);
        hash_router(&self.router, self.external.keys().copied(), &mut h);
        h.finish()
    }

    fn hash_sessions(&self, h: &mut FxHasher) {
        let mut sessions: Vec<_> = self.sessions.by_peer.iter().collect();
        sessions.sort_unstable_by_key(|(peer, _)| **peer);
        for (peer, s) in sessions {
            peer.hash(h);
            s.token.hash(h);
            (s.next_seq, s.dropped_through, s.sent_through, s.conn).hash(h);
            (s.lagging, s.detached_at, s.owed_ack).hash(h);
            for (seq, frame) in &s.replay {
                seq.hash(h);
                frame.as_ref().hash(h);
            }
        }
        let mut conns: Vec<_> = self.sessions.conns.iter().collect();
        conns.sort_unstable();
        conns.hash(h);
        self.sessions.detached.hash(h);
    }
}

/// The router through its public views: time, timers, every conversation the tenant knows,
/// every agent, every queue in service order.
fn hash_router(router: &Router, known: impl Iterator<Item = ConversationId>, h: &mut FxHasher) {
    router.now().hash(h);
    router.next_deadline().hash(h);
    router.open_conversations().hash(h);
    let mut conversations: Vec<ConversationId> = known.collect();
    conversations.sort_unstable();
    for id in conversations {
        id.hash(h);
        let Some(c) = router.conversation(id) else {
            0u8.hash(h);
            continue;
        };
        (c.state, c.queue, c.class, c.lane, c.priority, c.agent).hash(h);
        (c.waiting_since, c.held_for, c.rescued, c.handoff).hash(h);
        c.sentiment.map(f32::to_bits).hash(h);
        for refusal in c.refusals {
            (refusal.agent, refusal.at).hash(h);
        }
    }
    for id in router.agent_ids() {
        hash_agent(router, id, h);
    }
    for (q, stats) in router.queue_stats().iter().enumerate() {
        let queue = QueueId(q as u16);
        router.waiting(queue).collect::<Vec<_>>().hash(h);
        (stats.waiting, stats.oldest_since, stats.ewt_next_ms).hash(h);
    }
}

fn hash_agent(router: &Router, id: AgentId, h: &mut FxHasher) {
    id.hash(h);
    if let Some(a) = router.agent(id) {
        (a.role, a.status, a.connected, a.load, a.capacity, a.held).hash(h);
    }
}
